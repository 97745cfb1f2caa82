"""Request bodies of the JSON API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Message(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class AskRequest(BaseModel):
    question: str = Field(description="the question; 2,000 characters at most")
    history: list[Message] = Field(default_factory=list, max_length=50, description="the conversation so far, oldest first")
    backend: str | None = Field(default=None, description="extractive, local or openai (default: the server's)")
    k: int | None = Field(default=None, ge=1, le=50, description="passages to retrieve")
