"""Answer backends, chosen by name. A backend turns retrieved passages into a draft answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..index import Index
from ..retrieval import Retrieved


@dataclass
class Draft:
    """A backend's answer before it is checked and turned into an `Answer`."""

    text: str
    abstained: bool = False
    # For each cited passage number n (1-based), the original spans the answer rests on.
    spans: dict[int, list[tuple[int, int]]] = field(default_factory=dict)


class Backend(Protocol):
    name: str

    def answer(self, retrieved: Retrieved) -> Draft: ...


class UnknownBackend(ValueError):
    pass


def names() -> list[str]:
    return sorted(_REGISTRY)


def check(name: str) -> None:
    if name not in _REGISTRY:
        raise UnknownBackend(f"unknown backend {name!r}; available: {', '.join(names())}")


def create(name: str, index: Index) -> Backend:
    check(name)
    return _REGISTRY[name](index)


from .extractive import Extractive  # noqa: E402  (registered below; imports Draft from here)

_REGISTRY = {Extractive.name: Extractive}
