"""The assistant: keeps the index fresh, retrieves passages, and has a backend answer from them."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from . import backends
from .answers import Answer, Citation
from .embeddings import Embedder
from .index import BuildReport, Index, IndexUnusable, build_and_publish, open_current
from .retrieval import Retriever
from .settings import Settings

DEFAULT_SOURCES = [Path("seeds")]

MAX_QUESTION_CHARS = 2000


class QuestionError(ValueError):
    """The question cannot be asked as it is."""


def clean_question(question: str) -> str:
    question = "".join(ch if ch.isprintable() or ch in "\t\n" else " " for ch in question)
    question = " ".join(question.split())
    if not question:
        raise QuestionError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}")
    return question


class Assistant:
    def __init__(self, settings: Settings, progress: bool = True, log=sys.stderr, embedder: Embedder | None = None):
        self.settings = settings
        self.progress = progress
        self.log = log
        self.embedder = embedder or Embedder(settings.threads, settings.batch_size)
        self._index: Index | None = None
        self._retriever: Retriever | None = None
        self._backends: dict[str, backends.Backend] = {}
        self.last_build: BuildReport | None = None

    @property
    def index(self) -> Index:
        if self._index is None:
            self.ensure_index()
        return self._index

    def ensure_index(self, sources: list[Path] | None = None, force: bool = False) -> Index:
        """Open the index, building it first (incrementally) if it is missing or stale."""
        s = self.settings
        try:
            current = open_current(s.index_dir)
        except IndexUnusable as e:
            print(f"warning: {e}; rebuilding", file=self.log)
            current = None
        sources = sources or s.sources or ([Path(p) for p in current.manifest["sources"]] if current else DEFAULT_SOURCES)
        if force or current is None or not current.is_current(sources, s, self.embedder):
            what = "building" if current is None else "updating"
            print(f"{what} the index in {s.index_dir} from {', '.join(map(str, sources))} ...", file=self.log)
            current, self.last_build = build_and_publish(s.index_dir, sources, self.embedder, s, self.progress)
            for error in self.last_build.errors:
                print(f"warning: skipped {error}", file=self.log)
        self._index = current
        self._retriever = Retriever(current, self.embedder, s.candidates, s.rrf_k)
        self._backends.clear()
        return current

    def backend(self, name: str | None = None) -> backends.Backend:
        name = name or self.settings.backend
        if name not in self._backends:
            self._backends[name] = backends.create(name, self.index)
        return self._backends[name]

    def ask(self, question: str, k: int | None = None, backend: str | None = None) -> Answer:
        started = time.perf_counter()
        question = clean_question(question)
        chosen = self.backend(backend)
        retrieved = self._retriever.search(question, k or self.settings.top_k)
        t = time.perf_counter()
        draft = chosen.answer(retrieved)
        timings = dict(retrieved.timings_ms)
        timings["answer"] = (time.perf_counter() - t) * 1000
        citations = []
        for n, spans in sorted(draft.spans.items()):
            p = retrieved.passages[n - 1]
            start, end = min(s for s, _ in spans), max(e for _, e in spans)
            citations.append(Citation(n, p.passage_id, p.doc, p.section, start, end, self.index.texts[p.doc][start:end]))
        timings["total"] = (time.perf_counter() - started) * 1000
        return Answer(
            question=question,
            answer=draft.text,
            abstained=draft.abstained,
            citations=citations,
            passages=retrieved.passages,
            backend=chosen.name,
            timings_ms={k: round(v, 2) for k, v in timings.items()},
        )
