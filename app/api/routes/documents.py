"""The collection over HTTP: list, read, add documents; look up passages."""

from __future__ import annotations

import errno
import re
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, UploadFile
from starlette.concurrency import run_in_threadpool

from ... import sources
from ...assistant import Assistant
from ...documents import SUPPORTED, IngestError, load
from ...storage import IndexLockedError, describe_os_error
from ...stores import StoreUnavailable
from ..deps import get_assistant, reindex

router = APIRouter(prefix="/api", tags=["documents"])
_SAFE_NAME = re.compile(r"^[\w][\w .()\-]{0,120}$")


def document_or_404(assistant: Assistant, doc: str) -> dict:
    # Names are looked up in the index, never joined to a path, so "../" leads nowhere.
    entry = assistant.index.documents.get(doc)
    if entry is None:
        raise HTTPException(status_code=404, detail=f"no document {doc[:200]!r} in the index; GET /api/documents lists them")
    return entry


@router.get("/documents", summary="The indexed documents")
def list_documents(assistant: Assistant = Depends(get_assistant)) -> list[dict]:
    index = assistant.index
    return [
        {"doc": name, "title": d.get("title") or name, "format": d["format"], "chunks": d["chunks"], "chars": len(index.texts[name]),
         "sha256": d["sha256"], "uploaded": sources.under(d["path"], assistant.settings.upload_dir)}
        for name, d in index.documents.items()
    ]


@router.get("/documents/{doc:path}", summary="One document's text (the text that citation offsets refer to)")
def get_document(doc: str, assistant: Assistant = Depends(get_assistant)) -> dict:
    d = document_or_404(assistant, doc)
    return {"doc": doc, "title": d.get("title") or doc, "format": d["format"], "sha256": d["sha256"], "text": assistant.index.texts[doc]}


@router.get("/passages/{passage_id:path}", summary="One passage, with its location and a little context")
def get_passage(passage_id: str, assistant: Assistant = Depends(get_assistant)) -> dict:
    index = assistant.index
    row = index.row_of(passage_id)
    if row is None:
        raise HTTPException(status_code=404, detail=f"no passage {passage_id[:200]!r}; passage ids look like 'doc.txt:3'")
    c = index.chunks[row]
    text = index.texts[c["doc"]]
    return {
        "passage_id": c["id"], "doc": c["doc"], "section": c["section"], "start": c["start"], "end": c["end"], "text": c["text"],
        "context_before": text[max(0, c["start"] - 300) : c["start"]], "context_after": text[c["end"] : c["end"] + 300],
    }


@router.post(
    "/documents",
    status_code=201,
    summary="Add a document; it is indexed at once",
    responses={400: {}, 409: {}, 413: {}, 415: {}, 422: {}},
)
async def add_document(file: UploadFile, assistant: Assistant = Depends(get_assistant)) -> dict:
    settings = assistant.settings
    name = Path(file.filename or "").name
    if not name or "\x00" in name or not _SAFE_NAME.match(name):
        raise HTTPException(status_code=400, detail=f"file name {name[:100]!r} is not allowed: use letters, digits, spaces, . - _ ( )")
    if Path(name).suffix.lower() not in SUPPORTED:
        raise HTTPException(status_code=415, detail=f"{name}: unsupported file type; supported: {', '.join(sorted(SUPPORTED))}")
    data = await file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise HTTPException(status_code=413, detail=f"{name} is larger than the {settings.max_upload_bytes:,}-byte limit")
    if name in assistant.index.documents or (settings.upload_dir / name).exists():
        raise HTTPException(status_code=409, detail=f"a document named {name!r} is already indexed; rename the file to add it")
    with tempfile.TemporaryDirectory() as tmp:  # check it reads before it joins the collection
        trial = Path(tmp) / name
        trial.write_bytes(data)
        try:
            load(trial, name)
        except IngestError as e:
            raise HTTPException(status_code=422, detail=f"{name}: {e.reason}") from None
    target = settings.upload_dir / name
    try:
        settings.upload_dir.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        # In a worker thread: the event loop goes on serving questions from the current build.
        await run_in_threadpool(reindex, assistant)
    except (IndexLockedError, StoreUnavailable) as e:
        target.unlink(missing_ok=True)
        raise HTTPException(status_code=503, detail=f"{name} was not added: {e}", headers={"Retry-After": "30"}) from None
    except OSError as e:
        target.unlink(missing_ok=True)
        full = e.errno in (errno.ENOSPC, errno.EDQUOT)
        raise HTTPException(status_code=507 if full else 500, detail=f"{name} was not added: {describe_os_error(e)}") from None
    entry = assistant.index.documents.get(name)
    if entry is None:
        (settings.upload_dir / name).unlink(missing_ok=True)
        raise HTTPException(status_code=422, detail=f"{name} could not be indexed")
    return {"doc": name, "chunks": entry["chunks"], "format": entry["format"]}


@router.delete("/documents/{doc:path}", summary="Remove an uploaded document; the index drops it in one step", responses={404: {}, 409: {}, 503: {}, 507: {}})
async def delete_document(doc: str, assistant: Assistant = Depends(get_assistant)) -> dict:
    entry = document_or_404(assistant, doc)
    upload_dir = assistant.settings.upload_dir
    if not sources.under(entry["path"], upload_dir):
        raise HTTPException(status_code=409, detail=f"{doc} is not an upload: it comes from {entry['path']}; delete or move it there, "
                                                    f"or take its folder out with `citeqa index --remove PATH`")
    path = Path(entry["path"])
    kept = path.read_bytes() if path.is_file() else None
    try:
        path.unlink(missing_ok=True)
        # Questions are answered from the current build until the one without it is published.
        await run_in_threadpool(reindex, assistant)
    except BaseException as e:
        if kept is not None:
            path.write_bytes(kept)  # as it was: the document stays, in the files and in the index
        if isinstance(e, (IndexLockedError, StoreUnavailable)):
            raise HTTPException(status_code=503, detail=f"{doc} was not removed: {e}", headers={"Retry-After": "30"}) from None
        if isinstance(e, OSError):
            full = e.errno in (errno.ENOSPC, errno.EDQUOT)
            raise HTTPException(status_code=507 if full else 503, detail=f"{doc} was not removed: {describe_os_error(e)}", headers={"Retry-After": "30"}) from None
        raise
    return {"doc": doc, "removed": doc not in assistant.index.documents}
