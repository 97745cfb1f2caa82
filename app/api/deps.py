"""Dependencies in one place: the assistant the server was started with, its builds, the generation queue."""

from __future__ import annotations

import sys
import threading
import time

from fastapi import Request

from ..assistant import Assistant
from ..backends.generators import GeneratorFailed, GeneratorUnavailable, Options
from ..settings import Settings
from ..storage import describe_os_error


def start_assistant(settings: Settings) -> Assistant:
    a = Assistant(settings, progress=False)
    a.ensure_index()
    warm_up(a)
    return a


def warm_up(assistant: Assistant, background: bool = False) -> None:
    """Index uploads kept from earlier runs and load every model before the first question.

    The local model also reads the fixed system prompt once, so its KV cache holds that prefix.
    With `background`, that LLM warm-up runs on its own thread and this returns once retrieval
    (and so the extractive backend) is ready; /api/health tells when the LLM is.
    """
    try:
        reindex(assistant)
    except OSError as e:  # e.g. a full disk: serve what is built, and say why the uploads wait
        print(f"warning: {describe_os_error(e)}; answering from the current build", file=sys.stderr)
    assistant.embedder.encode(["warm up"])
    if background:
        threading.Thread(target=_warm_generator, args=(assistant, True), name="llm-warm-up", daemon=True).start()
    else:
        _warm_generator(assistant, False)


def _warm_generator(assistant: Assistant, report: bool) -> None:
    started = time.perf_counter()
    assistant.warming = assistant.settings.backend
    try:
        name = assistant.settings.backend
        announce = (lambda: print(f"loading the {name} model; questions to it wait until it is ready", file=sys.stderr, flush=True)) if report else None
        generator = assistant.load_generator(name, announce)
        if generator is None:
            return
        messages = [{"role": "system", "content": assistant.backend(name).system}, {"role": "user", "content": "Ready?"}]
        for _ in generator.execute(messages, Options(max_tokens=1)):
            pass
        if report:
            print(f"the {assistant.settings.backend} model is ready ({time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)
    except (GeneratorUnavailable, GeneratorFailed) as e:
        print(f"warning: the {assistant.settings.backend} backend is unavailable ({e}); answers fall back to extractive", file=sys.stderr)
    finally:
        assistant.warming = None


def get_assistant(request: Request) -> Assistant:
    return request.app.state.assistant


def reindex(assistant: Assistant) -> None:
    """Index what changed (an upload) and swap it in; queries keep using the old index meanwhile.

    Blocking: routes run it in a worker thread, never on the event loop."""
    assistant.ensure_index()


def follow_builds(assistant: Assistant, stop: threading.Event, every: float) -> None:
    """Switch to a build another process published (`citeqa index`, another server), until `stop` is set."""
    while not stop.is_set():
        assistant.store.wait_for_build(every, stop)
        if stop.is_set():
            return
        try:
            assistant.follow()
        except Exception as e:  # noqa: BLE001 - the watcher must outlive one bad build
            print(f"warning: could not switch to the new build ({e})", file=sys.stderr)


class GenerationQueue:
    """One LLM generation runs at a time (two would thrash two cores); up to `limit` wait; more are refused."""

    def __init__(self, limit: int):
        self.limit = limit
        self._lock = threading.Lock()
        self.admitted = 0

    def enter(self) -> bool:
        with self._lock:
            if self.admitted >= 1 + self.limit:
                return False
            self.admitted += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.admitted -= 1


def admit(request: Request, backend: str | None) -> GenerationQueue | None:
    """For an LLM backend, a place in the generation queue (release it with `leave`), or a 503."""
    from fastapi import HTTPException

    assistant = get_assistant(request)
    if (backend or assistant.settings.backend) == "extractive":
        return None
    queue: GenerationQueue = request.app.state.queue
    if not queue.enter():
        raise HTTPException(
            status_code=503,
            detail=f"the model is busy ({queue.limit} questions are already waiting); try again shortly, or ask with the extractive backend",
            headers={"Retry-After": "10"},
        )
    return queue
