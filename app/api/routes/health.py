"""GET /api/health: whether the index and each backend are ready."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ... import backends
from ...assistant import Assistant
from ..deps import get_assistant

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", summary="Readiness of the index and the backends")
def health(assistant: Assistant = Depends(get_assistant)) -> dict:
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
    }
