"""The evaluation collections: each a set of documents with its own gold file, baseline and index.

    eval/<name>/gold.jsonl       the gold cases (format: app/evaluation/gold.py)
    eval/<name>/baseline.json    what `citeqa eval --check` compares with
    index/<name>/                its index, built on first use (seeds: ./index, the project's own)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Collection:
    name: str
    sources: tuple[Path, ...]
    index_dir: Path

    @property
    def gold(self) -> Path:
        return Path("eval") / self.name / "gold.jsonl"

    @property
    def baseline(self) -> Path:
        return Path("eval") / self.name / "baseline.json"


COLLECTIONS = {
    # The seeds are the project's own collection: they share its default index.
    "seeds": Collection("seeds", (Path("seeds"),), Path("index")),
    # Wikipedia sections with QuAC dialogues, written by nobody on the team (eval/quac/README.md).
    "quac": Collection("quac", (Path("eval/quac/docs"),), Path("index/quac")),
}


class UnknownCollection(ValueError):
    pass


def get(name: str) -> Collection:
    if name not in COLLECTIONS:
        raise UnknownCollection(f"unknown collection {name!r}; available: {', '.join(COLLECTIONS)}")
    return COLLECTIONS[name]
