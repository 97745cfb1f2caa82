"""The gold set: questions with reference answers, required facts and quoted evidence (eval/gold.jsonl)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


class GoldError(ValueError):
    """The gold file is malformed or a quote no longer matches its document; the message says where."""


@dataclass
class Span:
    doc: str
    start: int
    end: int


@dataclass
class Case:
    id: str
    question: str
    answer: str
    facts: list[list[str]]  # each fact: accepted alternatives; every fact must appear
    evidence: list[Span]
    answerable: bool
    tags: list[str] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)


def _locate(text: str, quote: str) -> tuple[int, int] | None:
    """[start, end) of `quote` in `text`, comparing with all whitespace runs as single spaces."""
    norm, where = [], []
    for i, ch in enumerate(text):
        if ch.isspace():
            if norm and norm[-1] == " ":
                continue
            ch = " "
        norm.append(ch)
        where.append(i)
    q = " ".join(quote.split())
    at = "".join(norm).find(q)
    if at < 0 or not q:
        return None
    return where[at], where[at + len(q) - 1] + 1


def load(path: Path, documents: dict[str, str]) -> list[Case]:
    """Read and check the gold file; `documents` maps each document name to its text."""
    cases, seen = [], set()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise GoldError(f"{path}: cannot read the gold file ({e.strerror or e})") from None
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{no}"
        try:
            raw = json.loads(line)
            case = Case(
                id=raw["id"], question=raw["question"], answer=raw.get("answer", ""), facts=raw.get("facts", []),
                evidence=[], answerable=raw.get("answerable", True), tags=raw.get("tags", []), history=raw.get("history", []),
            )
        except (ValueError, KeyError, TypeError) as e:
            raise GoldError(f"{where}: not a gold case ({e.__class__.__name__}: {e})") from None
        if case.id in seen:
            raise GoldError(f"{where}: duplicate id {case.id!r}")
        seen.add(case.id)
        if case.answerable and not case.facts:
            raise GoldError(f"{where}: {case.id} is answerable but lists no required facts")
        for ev in raw.get("evidence", []):
            doc = ev.get("doc")
            if doc not in documents:
                raise GoldError(f"{where}: {case.id} cites {doc!r}, which is not in the index")
            span = _locate(documents[doc], ev.get("quote", ""))
            if span is None:
                raise GoldError(f"{where}: {case.id}: the quote {ev.get('quote', '')[:60]!r} no longer matches {doc}")
            case.evidence.append(Span(doc, *span))
        cases.append(case)
    if not cases:
        raise GoldError(f"{path}: no cases")
    return cases


def select(cases: list[Case], subset: str | None) -> list[Case]:
    """A tag (e.g. `ci`, `multi-turn`) or comma-separated ids; None for all."""
    if not subset:
        return cases
    wanted = {s.strip() for s in subset.split(",")}
    chosen = [c for c in cases if c.id in wanted or wanted & set(c.tags)]
    if not chosen:
        raise GoldError(f"--subset {subset!r} matches no case id or tag")
    return chosen
