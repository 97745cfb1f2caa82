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
    states = {}
    for name in backends.names():
        loaded = assistant._backends.get(name)
        if name == "extractive":
            states[name] = "ready"
        elif loaded is not None:
            states[name] = "ready"
        else:
            states[name] = "not loaded yet"
    return {
        "status": "ok" if index.chunks else "empty",
        "index": {"documents": len(index.documents), "chunks": len(index.chunks), "built": index.manifest.get("created")},
        "default_backend": assistant.settings.backend,
        "backends": states,
    }
