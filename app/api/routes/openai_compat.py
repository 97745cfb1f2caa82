"""An OpenAI-compatible chat-completions endpoint, so any OpenAI client or chat front end can use citeqa.

The model name picks the backend ("citeqa" for the server's default, "citeqa-extractive", ...).
The answer's content ends with numbered source lines; the structured citations travel in an extra
top-level `citations` field (in the last chunk when streaming).
"""

from __future__ import annotations

import json
import time
import uuid

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from ... import backends
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


class ChatRequest(BaseModel):
    model: str = "citeqa"
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    temperature: float | None = None
    max_tokens: int | None = None
    n: int = 1


def _backend(model: str, assistant: Assistant) -> str:
    if model in ("citeqa", ""):
        return assistant.settings.backend
    name = model.removeprefix("citeqa-")
    if name not in backends.names():
        raise HTTPException(status_code=404, detail=f"model {model!r} does not exist; GET /v1/models lists them")
    return name


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


def _sources(answer: Answer) -> str:
    if not answer.citations:
        return ""
    lines = [f"[{c.n}] {c.doc}, characters {c.start}-{c.end}" + (f" ({c.section})" if c.section else "") for c in answer.citations]
    return "\n\nSources:\n" + "\n".join(lines)


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
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    queue = admit(request, backend)
    if not body.stream:
        try:
            answer = assistant.ask(question, history=history, backend=backend)
        finally:
            if queue:
                queue.leave()
        return {
            "id": cid, "object": "chat.completion", "created": created, "model": body.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.answer + _sources(answer)}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": answer.prompt_tokens, "completion_tokens": 0, "total_tokens": answer.prompt_tokens},
            "citations": _citations(answer), "abstained": answer.abstained, "warnings": answer.warnings,
        }

    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        payload = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": body.model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

    def events():
        try:
            yield chunk({"role": "assistant", "content": ""})
            streamed = ""
            for event in assistant.stream(question, history=history, backend=backend):
                if isinstance(event, TextDelta):
                    streamed += event.text
                    yield chunk({"content": event.text})
                elif isinstance(event, Finished):
                    answer = event.answer
                    # The checked answer can differ from what streamed (removed or corrected markers): say so.
                    tail = "" if " ".join(answer.answer.split()) == " ".join(streamed.split()) else f"\n\nChecked answer: {answer.answer}"
                    yield chunk({"content": tail + _sources(answer)}, "stop", citations=_citations(answer), abstained=answer.abstained)
            yield "data: [DONE]\n\n"
        finally:
            if queue:
                queue.leave()

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
