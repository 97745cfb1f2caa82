"""What an answer is: text with [n] markers, the citations they point at, and the evidence behind them.

Every `start`/`end` is a character offset in the document's text (for .txt and .md files, the
file itself), so `text == document[start:end]` always holds.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass
class Passage:
    passage_id: str
    doc: str
    section: str
    start: int
    end: int
    text: str
    score: float
    title: str = ""  # the document's title (documents.title), for people; `doc` stays the id


@dataclass
class Citation:
    n: int  # the [n] marker in the answer; passages[n - 1] is the passage it cites
    passage_id: str
    doc: str
    section: str
    start: int  # the cited span, inside the passage
    end: int
    text: str
    title: str = ""


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    passages: list[Passage]
    backend: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Answer sentences the cited passages do not support (LLM backends).
    unsupported: list[str] = field(default_factory=list)
    # False when the answer cites no passage: then it is not grounded in the collection.
    grounded: bool = True
    warnings: list[str] = field(default_factory=list)
    # The question as retrieval saw it, when a follow-up was rewritten using the history.
    standalone_question: str | None = None
    prompt_tokens: int = 0
    # The LLM's own judgement, P("yes"), that the passages say what was asked (None: not judged).
    answerability: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


@dataclass
class PassagesFound:
    """Streamed first, as soon as retrieval is done."""

    passages: list[Passage]
    standalone_question: str | None = None


@dataclass
class TextDelta:
    text: str


@dataclass
class Finished:
    answer: Answer
