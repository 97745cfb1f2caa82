"""LLM generators: given chat messages and options, yield text as it is generated.

A generator is one small class with `execute` (after simonw/llm's Model.execute). The built-in
ones, `local` and `openai`, are registered like any other; a package can add its own through the
`citeqa.generators` entry-point group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Iterator, Protocol

from ..settings import Settings


@dataclass
class Options:
    max_tokens: int = 320
    temperature: float = 0.0
    stop: list[str] = field(default_factory=list)
    seed: int = 0


class GeneratorUnavailable(RuntimeError):
    """The generator cannot start (runtime or model missing); the message says how to get it."""


class GeneratorFailed(RuntimeError):
    """The generator started but did not produce an answer (server down, timeout, garbage)."""


class Generator(Protocol):
    name: str

    @classmethod
    def from_settings(cls, settings: Settings) -> "Generator": ...

    def describe(self) -> str: ...

    def execute(self, messages: list[dict[str, str]], options: Options) -> Iterator[str]: ...

    # Optional: the probability that the reply to `messages` starts with "yes" rather than "no".
    # Generators that cannot tell (a remote server without log-probabilities) do not define it.
    # def judge(self, messages: list[dict[str, str]]) -> float: ...


def registry() -> dict[str, type]:
    from .local import LocalLlama
    from .openai import OpenAICompatible

    found = {LocalLlama.name: LocalLlama, OpenAICompatible.name: OpenAICompatible}
    for ep in entry_points(group="citeqa.generators"):
        found.setdefault(ep.name, ep.load())
    return found
