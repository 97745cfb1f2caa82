"""The pages a person uses: chat, documents (with upload), the document viewer, and the API docs."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from ... import backends, sources
from ...assistant import Assistant
from ..deps import get_assistant
from .documents import document_or_404

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent.parent / "web" / "templates")


@router.get("/", response_class=HTMLResponse)
def chat(request: Request, assistant: Assistant = Depends(get_assistant)):
    return templates.TemplateResponse(request, "chat.html", {"backends": backends.names(), "default": assistant.settings.backend})


@router.get("/docs", response_class=HTMLResponse)
def documents(request: Request, assistant: Assistant = Depends(get_assistant)):
    index = assistant.index
    docs = [{"name": n, "title": d.get("title") or n, "format": d["format"], "chunks": d["chunks"], "chars": len(index.texts[n]),
             "uploaded": sources.under(d["path"], assistant.settings.upload_dir)} for n, d in index.documents.items()]
    return templates.TemplateResponse(request, "documents.html", {"docs": docs, "limit": assistant.settings.max_upload_bytes})


@router.get("/docs/{doc:path}", response_class=HTMLResponse)
def viewer(request: Request, doc: str, start: int | None = None, end: int | None = None, assistant: Assistant = Depends(get_assistant)):
    entry = document_or_404(assistant, doc)
    text = assistant.index.texts[doc]
    if start is None or end is None:
        start = end = 0
    elif not 0 <= start < end <= len(text):
        raise HTTPException(status_code=400, detail=f"span {start}-{end} is outside {doc} (0-{len(text)})")
    section = next((c["section"] for c in assistant.index.chunks_of(doc) if c["start"] <= start < c["end"]), "")
    return templates.TemplateResponse(
        request, "viewer.html",
        {"doc": doc, "title": entry.get("title") or doc, "section": section, "start": start, "end": end, "before": text[:start], "span": text[start:end], "after": text[end:]},
    )


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request):
    # Served from our own static files (the page works offline), started by a static script (the CSP allows no inline one).
    return templates.TemplateResponse(request, "api_docs.html", {})
