"""GET /api/health: whether the index and each backend are ready."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ... import backends
from ...assistant import Assistant
from ..deps import get_assistant

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", summary="Readiness of the index and the backends")
def health(request: Request, assistant: Assistant = Depends(get_assistant)) -> dict:
    index = assistant.index
    loaded = assistant.loaded_generators()
    states = {
        name: "ready" if name == "extractive" or name in loaded else "loading" if name == assistant.warming else "not loaded yet"
        for name in backends.names()
    }
    return {
        "status": "ok" if index.chunks else "empty",
        "index": {"documents": len(index.documents), "chunks": len(index.chunks), "built": index.manifest.get("created")},
        "default_backend": assistant.settings.backend,
        "backends": states,
        # LLM answers being written or waiting, and the pieces of text LLMs have written since start.
        "generations": {"in_progress": request.app.state.queue.admitted, "pieces_written": assistant.pieces_written()},
    }
