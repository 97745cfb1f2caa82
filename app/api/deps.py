"""Dependencies in one place: the assistant the server was started with, and its build lock."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from fastapi import Request

from ..assistant import DEFAULT_SOURCES, Assistant
from ..backends.generators import GeneratorFailed, GeneratorUnavailable, Options
from ..settings import Settings

_index_lock = threading.Lock()


def sources(assistant: Assistant) -> list[Path]:
    """What the server indexes: its sources (as configured, or as the index was built) and the upload folder."""
    settings = assistant.settings
    uploads = settings.upload_dir
    built = [Path(p) for p in assistant.index.manifest.get("sources", [])]
    base = settings.sources or [p for p in built if p.resolve() != uploads.resolve()] or DEFAULT_SOURCES
    return [*base, uploads] if uploads.is_dir() and any(uploads.iterdir()) else list(base)


def start_assistant(settings: Settings) -> Assistant:
    a = Assistant(settings, progress=False)
    a.ensure_index()
    warm_up(a)
    return a


def warm_up(assistant: Assistant) -> None:
    """Index uploads kept from earlier runs and load every model before the first question.

    The local model also reads the fixed system prompt once, so its KV cache holds that prefix.
    """
    reindex(assistant)
    assistant.embedder.encode(["warm up"])
    try:
        backend = assistant.backend()
        generator = getattr(backend, "generator", None)
        if generator is not None and hasattr(generator, "load"):
            generator.load()
            messages = [{"role": "system", "content": backend.system}, {"role": "user", "content": "Ready?"}]
            for _ in generator.execute(messages, Options(max_tokens=1)):
                pass
    except (GeneratorUnavailable, GeneratorFailed) as e:
        print(f"warning: the {assistant.settings.backend} backend is unavailable ({e}); answers fall back to extractive", file=sys.stderr)


def get_assistant(request: Request) -> Assistant:
    return request.app.state.assistant


def reindex(assistant: Assistant) -> None:
    """Index what changed (an upload) and swap it in; queries keep using the old index meanwhile."""
    with _index_lock:
        assistant.ensure_index(sources=sources(assistant))
