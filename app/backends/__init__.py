"""Answer backends, chosen by name: `extractive` (no LLM) and one per LLM generator (`local`, `openai`, ...).

A backend's `run` yields the answer text as it is produced, then the `Draft` it amounts to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Protocol

from ..embeddings import Embedder
from ..index import Index
from ..prompts import Prompts
from ..retrieval import Retrieved
from ..settings import Settings


@dataclass
class Draft:
    """A backend's answer, checked, before it becomes an `Answer`."""

    text: str
    abstained: bool = False
    # For each cited passage number n (1-based), the original spans the answer rests on.
    spans: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    unsupported: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    grounded: bool = True
    prompt_tokens: int = 0
    answerability: float | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)  # the backend's own stages


class Backend(Protocol):
    name: str

    # `style`: the user's instructions on how to write (an OpenAI client's system message); they
    # never change what the answer may say, and a backend that writes nothing itself ignores them.
    def run(self, retrieved: Retrieved, style: str = "") -> Iterator["str | Draft"]: ...


class UnknownBackend(ValueError):
    pass


def names() -> list[str]:
    from .generators import registry

    return ["extractive", *sorted(registry())]


def check(name: str) -> None:
    if name not in names():
        raise UnknownBackend(f"unknown backend {name!r}; available: {', '.join(names())}")


def create(name: str, index: Index, settings: Settings, embedder: Embedder, prompts: Prompts, generator=None) -> Backend:
    """The backend `name` over `index`; an LLM backend wraps `generator`, or a new one from the settings."""
    from .extractive import Extractive
    from .generative import Generative
    from .generators import registry

    check(name)
    extractive = Extractive(index, prompts)
    if name == "extractive":
        return extractive
    return Generative(generator or registry()[name].from_settings(settings), extractive, settings, embedder, prompts)
