"""An OpenAI-compatible chat-completions endpoint, so any OpenAI client or chat front end can use citeqa.

The model name picks the backend ("citeqa" for the server's default, "citeqa-extractive", ...).
The answer's content ends with numbered source lines, Markdown links to the cited passage in its
document; the structured citations travel in an extra top-level `citations` field (in the last
chunk when streaming). `max_tokens` (or `max_completion_tokens`) and `stop` limit the content the
client receives, as OpenAI's do; token counts in `usage` are cl100k tokens. A system message is
used as style instructions by the LLM backends: it goes in after the grounding rules and cannot
change them (the answer is checked against the passages all the same).
"""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from ... import backends, tokens
from ...answers import Answer, Finished, TextDelta
from ...assistant import Assistant, QuestionError, clean_question
from ..deps import admit, get_assistant

router = APIRouter(prefix="/v1", tags=["openai-compatible"])


class ContentPart(BaseModel):
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    role: str
    # A string, or the list of parts many clients send ([{"type": "text", "text": ...}]).
    content: str | list[ContentPart] | None = ""

    def text(self) -> str:
        if not isinstance(self.content, list):
            return self.content or ""
        other = sorted({p.type for p in self.content if p.type != "text"})
        if other:
            raise HTTPException(status_code=400, detail=f"only text content parts are supported, not {', '.join(other)}")
        return "\n".join(p.text or "" for p in self.content)


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatRequest(BaseModel):
    model: str = "citeqa"
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    stop: str | list[str] | None = None
    n: int = 1

    def limit(self) -> int | None:
        limit = self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens
        if limit is not None and limit < 1:
            raise HTTPException(status_code=400, detail=f"max_tokens={limit}: ask for 1 token or more")
        return limit

    def stops(self) -> list[str]:
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        if len(stops) > 4:
            raise HTTPException(status_code=400, detail=f"stop: at most 4 sequences, not {len(stops)}")
        return [s for s in stops if s]


MAX_STYLE_CHARS = 4000


class Limiter:
    """What of the content may be sent: up to the first stop sequence and at most `max_tokens` tokens.

    Fed the content piece by piece, it holds back the last characters that could be the start of
    a stop sequence split across two pieces."""

    def __init__(self, stops: list[str], max_tokens: int | None):
        self.stops = stops
        self.max_tokens = max_tokens
        self.text = ""  # everything fed
        self.sent = 0  # how much of it has been let through
        self.finish: str | None = None  # "stop" or "length" once the limit is reached

    def feed(self, piece: str) -> str:
        if self.finish:
            return ""
        self.text += piece
        end = len(self.text)
        hits = [i for i in (self.text.find(s) for s in self.stops) if i >= 0]
        if hits:
            end, self.finish = min(hits), "stop"
        elif self.stops:
            end -= max(len(s) for s in self.stops) - 1
        if self.max_tokens is not None and tokens.count(self.text[:end]) > self.max_tokens:
            end, self.finish = len(tokens.head(self.text[:end], self.max_tokens)), "length"
        out = self.text[self.sent : max(end, self.sent)]
        self.sent = max(end, self.sent)
        return out

    def close(self) -> str:
        """The rest, once the content is complete."""
        if self.finish:
            return ""
        self.stops = []
        return self.feed("")


def _backend(model: str, assistant: Assistant) -> str:
    if model in ("citeqa", ""):
        return assistant.settings.backend
    name = model.removeprefix("citeqa-")
    if name not in backends.names():
        raise HTTPException(status_code=404, detail=f"model {model!r} does not exist; GET /v1/models lists them")
    return name


def _style(messages: list[ChatMessage]) -> str:
    style = "\n".join(m.text() for m in messages if m.role in ("system", "developer")).strip()
    if len(style) > MAX_STYLE_CHARS:
        raise HTTPException(status_code=400, detail=f"the system message is {len(style):,} characters; at most {MAX_STYLE_CHARS:,}")
    return style


def _split(messages: list[ChatMessage]) -> tuple[str, list[dict]]:
    turns = [(m.role, m.text()) for m in messages if m.role in ("user", "assistant")]
    turns = [(role, text) for role, text in turns if text]
    if not turns or turns[-1][0] != "user":
        raise HTTPException(status_code=400, detail="the last message must be the user's question")
    try:
        question = clean_question(turns[-1][1])
    except QuestionError as e:
        raise HTTPException(status_code=400, detail=str(e)) from None
    return question, [{"role": role, "content": text} for role, text in turns[:-1]]


def _sources(answer: Answer, base: str) -> str:
    if not answer.citations:
        return ""
    lines = [
        f"[{c.n}] [{_md(c.title or c.doc)}]({base}/docs/{quote(c.doc)}?start={c.start}&end={c.end}) — {c.doc}, characters {c.start}-{c.end}"
        + (f" ({c.section})" if c.section else "")
        for c in answer.citations
    ]
    return "\n\nSources:\n" + "\n".join(lines)


def _md(text: str) -> str:
    """Text safe inside a Markdown link's [brackets]."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _usage(answer: Answer, question: str, history: list[dict], content: str) -> dict:
    prompt = answer.prompt_tokens or tokens.count(question) + sum(tokens.count(t["content"]) for t in history)
    completion = tokens.count(content)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _citations(answer: Answer) -> list[dict]:
    return [c.__dict__ for c in answer.citations]


@router.get("/models", summary="The backends that can answer now, as models")
def models(assistant: Assistant = Depends(get_assistant)) -> dict:
    # The openai backend only with a server to talk to.
    usable = [n for n in backends.names() if n != "openai" or assistant.settings.openai_base_url]
    ids = ["citeqa", *(f"citeqa-{n}" for n in usable)]
    return {"object": "list", "data": [{"id": i, "object": "model", "created": 0, "owned_by": "citeqa"} for i in ids]}


@router.post("/chat/completions", summary="Chat completions; the reply cites its sources")
def chat_completions(body: ChatRequest, request: Request, assistant: Assistant = Depends(get_assistant)):
    backend = _backend(body.model, assistant)
    if body.n != 1:
        raise HTTPException(status_code=400, detail=f"n={body.n}: one answer per request (the answer is deterministic)")
    question, history = _split(body.messages)
    style, limit, stops = _style(body.messages), body.limit(), body.stops()
    base = str(request.base_url).rstrip("/")
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    queue = admit(request, backend)
    if not body.stream:
        try:
            answer = assistant.ask(question, history=history, backend=backend, style=style)
        finally:
            if queue:
                queue.leave()
        limiter = Limiter(stops, limit)
        content = limiter.feed(answer.answer + _sources(answer, base)) + limiter.close()
        return {
            "id": cid, "object": "chat.completion", "created": created, "model": body.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": limiter.finish or "stop"}],
            "usage": _usage(answer, question, history, content),
            "citations": _citations(answer), "abstained": answer.abstained, "warnings": answer.warnings,
        }

    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        payload = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": body.model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

    def events():
        try:
            yield chunk({"role": "assistant", "content": ""})
            limiter = Limiter(stops, limit)
            streamed = ""
            for event in assistant.stream(question, history=history, backend=backend, style=style):
                if isinstance(event, TextDelta):
                    streamed += event.text
                    piece = limiter.feed(event.text)
                    if piece:
                        yield chunk({"content": piece})
                elif isinstance(event, Finished):
                    answer = event.answer
                    # The checked answer can differ from what streamed (removed or corrected markers): say so.
                    tail = "" if " ".join(answer.answer.split()) == " ".join(streamed.split()) else f"\n\nChecked answer: {answer.answer}"
                    last = limiter.feed(tail + _sources(answer, base)) + limiter.close()
                    yield chunk({"content": last}, limiter.finish or "stop", citations=_citations(answer), abstained=answer.abstained)
                    if body.stream_options and body.stream_options.include_usage:
                        usage = _usage(answer, question, history, limiter.text[: limiter.sent])
                        yield f"data: {json.dumps({'id': cid, 'object': 'chat.completion.chunk', 'created': created, 'model': body.model, 'choices': [], 'usage': usage})}\n\n"
            yield "data: [DONE]\n\n"
        finally:
            if queue:
                queue.leave()

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
