"""The `openai` generator: any OpenAI-compatible chat-completions server, streamed.

OpenAI itself, Ollama, vLLM, llama.cpp's server, LM Studio: base URL, model and key from
settings. Connection errors and 5xx answers are retried a bounded number of times; a server
that hangs is cut off by the timeout.
"""

from __future__ import annotations

import json
import time
from typing import Iterator

import httpx

from ..settings import Settings
from .generators import GeneratorFailed, GeneratorUnavailable, Options


class OpenAICompatible:
    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 60.0, retries: int = 2):
        if not base_url:
            raise GeneratorUnavailable("no server configured: set CITEQA_OPENAI_BASE_URL (e.g. http://127.0.0.1:8080/v1)")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries

    @classmethod
    def from_settings(cls, settings: Settings) -> "OpenAICompatible":
        return cls(settings.openai_base_url, settings.openai_model, settings.openai_api_key, settings.openai_timeout, settings.openai_retries)

    def describe(self) -> str:
        return f"openai {self.model} at {self.base_url}"

    def execute(self, messages: list[dict[str, str]], options: Options) -> Iterator[str]:
        body = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "temperature": options.temperature,
            "max_tokens": options.max_tokens,
            "seed": options.seed,
        }
        if options.stop:
            body["stop"] = options.stop
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        timeout = httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0))
        for attempt in range(self.retries + 1):
            produced = False
            try:
                with httpx.stream("POST", f"{self.base_url}/chat/completions", json=body, headers=headers, timeout=timeout) as r:
                    if r.status_code >= 500 and attempt < self.retries:
                        time.sleep(0.5 * 2**attempt)
                        continue
                    if r.status_code != 200:
                        r.read()
                        raise GeneratorFailed(f"{self.base_url} answered HTTP {r.status_code}: {r.text[:200]!r}")
                    for text in self._deltas(r.iter_lines()):
                        produced = True
                        yield text
                    return
            except (httpx.ConnectError, httpx.RemoteProtocolError) as e:
                if attempt < self.retries and not produced:
                    time.sleep(0.5 * 2**attempt)
                    continue
                raise GeneratorFailed(f"cannot reach {self.base_url} ({e.__class__.__name__}: {e})") from None
            except httpx.TimeoutException:
                raise GeneratorFailed(f"{self.base_url} did not answer within {self.timeout:g} s (CITEQA_OPENAI_TIMEOUT)") from None
            except httpx.HTTPError as e:
                raise GeneratorFailed(f"talking to {self.base_url} failed ({e.__class__.__name__}: {e})") from None
        raise GeneratorFailed(f"{self.base_url} kept failing after {self.retries + 1} attempts")

    def _deltas(self, lines: Iterator[str]) -> Iterator[str]:
        """The text of each chunk; a stream that stops before `[DONE]` or a `finish_reason` is a failure, not an answer."""
        saw_data = finished = False
        for line in lines:
            if not line or line.startswith(":"):
                continue
            if not line.startswith("data:"):
                raise GeneratorFailed(f"{self.base_url} sent something that is not a server-sent event: {line[:120]!r}")
            payload = line[5:].strip()
            if payload == "[DONE]":
                return
            try:
                event = json.loads(payload)
                choice = event["choices"][0] if event.get("choices") else {}
                text = (choice.get("delta") or {}).get("content")
                finished = finished or bool(choice.get("finish_reason"))
            except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                raise GeneratorFailed(f"{self.base_url} sent an event that is not a chat-completion chunk: {payload[:120]!r}") from None
            saw_data = True
            if text:
                yield text
        if not saw_data:
            raise GeneratorFailed(f"{self.base_url} closed the stream without sending an answer")
        if not finished:
            raise GeneratorFailed(f"{self.base_url} closed the stream before the answer was complete (no [DONE], no finish_reason)")
