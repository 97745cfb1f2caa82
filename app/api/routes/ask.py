"""POST /api/ask and its streaming variant (server-sent events: passages, token..., answer)."""

from __future__ import annotations

import json
from dataclasses import asdict

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from ... import backends
from ...answers import Finished, PassagesFound, TextDelta
from ...assistant import Assistant, QuestionError, clean_question
from ..deps import admit, get_assistant
from ..schemas import AskRequest

router = APIRouter(prefix="/api", tags=["ask"])


def _validate(body: AskRequest) -> list[dict]:
    try:
        clean_question(body.question)
        if body.backend:
            backends.check(body.backend)
    except (QuestionError, backends.UnknownBackend) as e:
        raise HTTPException(status_code=400, detail=str(e)) from None
    return [m.model_dump() for m in body.history]


@router.post("/ask", summary="Answer a question, with citations (the `citeqa ask --json` object)", responses={503: {"description": "the model is busy; see Retry-After"}})
def ask(body: AskRequest, request: Request, assistant: Assistant = Depends(get_assistant)) -> dict:
    history = _validate(body)
    queue = admit(request, body.backend)
    try:
        return assistant.ask(body.question, history=history, k=body.k, backend=body.backend).to_dict()
    finally:
        if queue:
            queue.leave()


@router.get("/search", summary="Retrieval only: the passages for a query, best first")
def search(q: str = Query(description="the query"), k: int = Query(5, ge=1, le=50), assistant: Assistant = Depends(get_assistant)) -> dict:
    try:
        query = clean_question(q)
    except QuestionError as e:
        raise HTTPException(status_code=400, detail=str(e)) from None
    retrieved = assistant.retrieve(query, k)
    return {"query": query, "passages": [asdict(p) for p in retrieved.passages], "timings_ms": retrieved.timings_ms}


def sse(event: str, data) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.post(
    "/ask/stream",
    summary="Answer a question as server-sent events",
    description="Events: `passages` (at once, the retrieved passages), `token` (answer text as generated), "
    "`answer` (the final checked answer object), or `error`.",
    response_class=StreamingResponse,
    responses={503: {"description": "the model is busy; see Retry-After"}},
)
def ask_stream(body: AskRequest, request: Request, assistant: Assistant = Depends(get_assistant)):
    history = _validate(body)
    queue = admit(request, body.backend)

    def events():
        try:
            for event in assistant.stream(body.question, history=history, k=body.k, backend=body.backend):
                if isinstance(event, PassagesFound):
                    yield sse("passages", {"passages": [asdict(p) for p in event.passages], "standalone_question": event.standalone_question})
                elif isinstance(event, TextDelta):
                    yield sse("token", {"text": event.text})
                elif isinstance(event, Finished):
                    yield sse("answer", event.answer.to_dict())
        except Exception as e:  # the stream has started: report in-band rather than drop the connection
            yield sse("error", {"error": f"answering failed: {e.__class__.__name__}: {e}"})
        finally:
            if queue:
                queue.leave()

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
