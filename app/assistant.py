"""The assistant: keeps the index fresh, retrieves passages, and has a backend answer from them."""

from __future__ import annotations

import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from . import backends, ingest, names, sources
from .stores import open_store
from .answers import Answer, Citation, Finished, PassagesFound, TextDelta
from .backends.generators import GeneratorFailed, GeneratorUnavailable
from .citations import MARKER
from .embeddings import Embedder
from .index import Index, IndexUnusable
from .ingest import BuildReport
from .manifest import is_current
from .prompts import Prompts
from .retrieval import Retrieved, Retriever
from .safety import without_bidi_controls
from .settings import Settings

MAX_QUESTION_CHARS = 2000
_REFERRING = re.compile(r"\b(it|its|they|them|their|he|him|his|she|her|this|that|these|those|there|then|the same)\b", re.I)


class QuestionError(ValueError):
    """The question cannot be asked as it is."""


def clean_question(question: str) -> str:
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    question = "".join(ch if ch.isprintable() or ch in "\t\n" else " " for ch in question)
    question = " ".join(question.split())
    if not question:
        raise QuestionError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}")
    return question


def clean_history(history: list[dict] | None) -> list[dict[str, str]]:
    out = []
    for i, m in enumerate(history or []):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant") or not isinstance(m.get("content"), str):
            raise QuestionError(f"history[{i}] must be {{\"role\": \"user\" or \"assistant\", \"content\": text}}")
        out.append({"role": m["role"], "content": m["content"][:MAX_QUESTION_CHARS]})
    return out


def _turn_text(m: dict[str, str], refusal: str) -> str | None:
    """A turn's text without citation markers; None for an answer that was a refusal (it says nothing of the topic)."""
    text = MARKER.sub("", m["content"])
    return None if m["role"] == "assistant" and text.lstrip().startswith(refusal.rstrip(".")) else text


def conversation_context(history: list[dict[str, str]], refusal: str, turns: int = 2) -> str:
    """What the last turns of a conversation were about, as text to search with (refusals and markers left out)."""
    parts = [text[:500] for m in history[-2 * turns :] if (text := _turn_text(m, refusal)) is not None]
    return " ".join(" ".join(parts).split())


def previous_answer(history: list[dict[str, str]], refusal: str) -> str:
    """The conversation's last answer that was not a refusal, as text (markers removed); "" when there is none.

    After a refusal the conversation is still where its last answer was: a follow-up to "Do we know
    why he left?" (refused) reads on from the answer before it (bench/README.md, "Follow-ups")."""
    texts = (_turn_text(m, refusal) for m in reversed(history) if m["role"] == "assistant")
    return next((" ".join(t.split()) for t in texts if t), "")


@dataclass
class View:
    """One build and what answers from it; a question uses one view from start to end, even if a new build is swapped in meanwhile."""

    index: Index
    retriever: Retriever
    backends: dict[str, backends.Backend] = field(default_factory=dict)


class Assistant:
    def __init__(self, settings: Settings, progress: bool = True, log=sys.stderr, embedder: Embedder | None = None):
        self.settings = settings
        self.progress = progress
        self.log = log
        self.embedder = embedder or Embedder(settings.threads, settings.batch_size, settings.embed_precision, settings.model_dir)
        self.prompts = Prompts(settings.prompts_dir)
        self.store = open_store(settings)
        self._view: View | None = None
        self._generators: dict = {}
        self.warming: str | None = None  # the backend whose model a server is loading in the background
        self._swap = threading.Lock()  # one build or reload at a time in this process
        self.last_build: BuildReport | None = None

    @property
    def view(self) -> View:
        if self._view is None:
            self.ensure_index()
        return self._view

    @property
    def index(self) -> Index:
        return self.view.index

    def update_index(self, add: list[Path] = (), remove: list[Path] = (), rebuild: bool = False, verify: bool = False) -> BuildReport | None:
        """Build the index (incrementally) if it is missing, stale or (with `verify`) damaged; None if it was current.

        Only the manifest is read to decide: loading a 100k-chunk index just to find it current took 5 s."""
        s = self.settings
        absent = sources.missing(list(add))
        if absent:
            raise FileNotFoundError(f"{absent[0]}: no such file or folder")
        with self._swap:
            manifest = None
            try:
                manifest = self.store.manifest()
                if manifest is not None and verify:
                    self.store.verify()
            except IndexUnusable as e:
                print(f"warning: {e}; rebuilding", file=self.log)
                manifest, rebuild = None, True
            wanted = sources.collection(s, manifest, add, remove)
            if manifest is None and not any(p.exists() for p in wanted):
                # A new index with nothing to read: say where we looked and what to do, and create nothing.
                raise FileNotFoundError(
                    f"no collection here: no index in {self.store.describe()} and no {', '.join(map(str, wanted)) or 'documents'} to build one from; "
                    "index your documents first (citeqa index PATH), or point --index-dir (CITEQA_INDEX_DIR) at an existing index"
                )
            if not rebuild and manifest is not None and is_current(manifest, wanted, s, self.embedder):
                return None
            what = "building" if manifest is None else "updating"
            print(f"{what} the index in {self.store.describe()} from {', '.join(map(str, wanted))} ...", file=self.log)
            loaded = None if rebuild or self._view is None else self._view.index
            self._use(*ingest.update(self.store, s, self.embedder, add, remove, self.progress, loaded, rebuild))
            return self.last_build

    def ensure_index(self) -> Index:
        """Open the index, building it first (incrementally) if it is missing or stale."""
        report = self.update_index()
        if report is not None:
            for error in report.errors:
                print(f"warning: skipped {error}", file=self.log)
        elif not self.follow():
            self.last_build = None  # what is in memory is current: nothing to read again
        return self._view.index

    def follow(self) -> bool:
        """Switch to the store's current build if it is not the one in use (another process built it); whether it switched."""
        with self._swap:
            current = self.store.current_id()
            if current is None or (self._view is not None and self._view.index.build_id == current):
                return False
            try:
                self._use(self.store.open(), None)
            except IndexUnusable as e:  # the manifest was fine but a file is damaged
                if self._view is not None:
                    print(f"warning: {e}; still answering from {self._view.index.build_id}", file=self.log)
                    return False
                print(f"warning: {e}; rebuilding", file=self.log)
        if self._view is None:
            self.update_index(rebuild=True)
        return True

    def _use(self, index: Index, report: BuildReport | None) -> None:
        s = self.settings
        self._view = View(index, Retriever(index, self.embedder, s.candidates, s.fusion, s.dense_weight, s.rrf_k, s.context_weight))
        self.last_build = report

    def backend(self, name: str | None = None, view: View | None = None) -> backends.Backend:
        name = name or self.settings.backend
        view = view or self.view
        if name not in view.backends:
            # Backends are made over each new index; the generators (a loaded model) live on.
            backend = backends.create(name, view.index, self.settings, self.embedder, self.prompts, self._generators.get(name))
            if hasattr(backend, "generator"):
                self._generators[name] = backend.generator
            view.backends[name] = backend
        return view.backends[name]

    def load_generator(self, name: str, announce=None):
        """The LLM generator of backend `name`, its model loaded (None for a backend without one);
        `announce` is called first when there is a model to load."""
        generator = getattr(self.backend(name), "generator", None)
        if generator is None or not hasattr(generator, "load"):
            return None
        if announce and getattr(generator, "_llm", None) is None:
            announce()
        generator.load()
        return generator

    def loaded_generators(self) -> list[str]:
        """The LLM backends whose generator has been created (and, for `local`, whose model is loaded)."""
        return [name for name, g in self._generators.items() if getattr(g, "_llm", True) is not None]

    def pieces_written(self) -> int:
        return sum(getattr(g, "generated", 0) for g in self._generators.values())

    @staticmethod
    def standalone(question: str, history: list[dict[str, str]]) -> str:
        """A follow-up as retrieval and the sentence selector see it, the same for every backend.

        A question that refers back, or is very short, borrows the previous question's words, unless
        it names something new ("What did FED propose?" asks about FED whatever came before); the
        documents the conversation was about are favoured by `retrieve`. (A rewrite by the 0.5B
        model cost about 1 s and found no more than this on either gold collection.)"""
        previous = next((m["content"] for m in reversed(history) if m["role"] == "user"), None)
        if previous is None:
            return question
        new_names = set(map(str.lower, names.in_question(question))) - set(map(str.lower, names.in_question(previous)))
        if _REFERRING.search(question) or (len(question.split()) <= 4 and not new_names):
            return f"{question} ({clean_question(previous)})"
        return question

    def retrieve(self, question: str, k: int | None = None, history: list[dict[str, str]] | None = None, view: View | None = None) -> Retrieved:
        history, refusal = history or [], self.prompts.refusal()
        return (view or self.view).retriever.search(
            question, k or self.settings.top_k, conversation_context(history, refusal), previous_answer(history, refusal)
        )

    def ask(self, question: str, history: list[dict] | None = None, k: int | None = None, backend: str | None = None,
            style: str = "") -> Answer:
        for event in self.stream(question, history, k, backend, style):
            if isinstance(event, Finished):
                return event.answer
        raise AssertionError("stream ended without an answer")

    def stream(
        self, question: str, history: list[dict] | None = None, k: int | None = None, backend: str | None = None, style: str = ""
    ) -> Iterator[PassagesFound | TextDelta | Finished]:
        """Passages first (at once), then answer text as it is generated, then the checked answer.

        `style`: how the answer should be written (see backends.Backend.run)."""
        started = time.perf_counter()
        question = clean_question(question)
        history = clean_history(history)
        name = backend or self.settings.backend
        backends.check(name)
        warnings: list[str] = []
        timings: dict[str, float] = {}
        view = self.view
        try:
            chosen = self.backend(name, view)
        except (GeneratorUnavailable, GeneratorFailed) as e:
            chosen = self._fallback(name, e, warnings, view)

        standalone = self.standalone(question, history) if history else question
        retrieved = self.retrieve(standalone, k, history, view)
        timings.update(retrieved.timings_ms)
        yield PassagesFound(retrieved.passages, standalone if history else None)

        t = time.perf_counter()
        draft = None
        try:
            for item in chosen.run(retrieved, style):
                if isinstance(item, str):
                    timings.setdefault("first_token", (time.perf_counter() - t) * 1000)
                    yield TextDelta(without_bidi_controls(item))
                else:
                    draft = item
        except (GeneratorUnavailable, GeneratorFailed) as e:
            chosen = self._fallback(name, e, warnings, view)
            yield TextDelta(f"\n\n[{warnings[-1]}]\n\n")
            draft = [x for x in chosen.run(retrieved, style) if not isinstance(x, str)][0]
        timings["answer"] = (time.perf_counter() - t) * 1000
        timings.update(draft.timings_ms)

        citations = []
        for n, spans in sorted(draft.spans.items()):
            p = retrieved.passages[n - 1]
            start, end = min(s for s, _ in spans), max(e for _, e in spans)
            citations.append(Citation(n, p.passage_id, p.doc, p.section, start, end, view.index.texts[p.doc][start:end], p.title))
        timings["total"] = (time.perf_counter() - started) * 1000
        yield Finished(
            Answer(
                question=question,
                answer=without_bidi_controls(draft.text),
                abstained=draft.abstained,
                citations=citations,
                passages=retrieved.passages,
                backend=chosen.name,
                timings_ms={key: round(v, 2) for key, v in timings.items()},
                unsupported=draft.unsupported,
                grounded=draft.grounded and not draft.abstained,
                warnings=warnings + draft.warnings,
                standalone_question=standalone if history else None,
                prompt_tokens=draft.prompt_tokens,
                answerability=draft.answerability,
            )
        )

    def _fallback(self, name: str, error: Exception, warnings: list[str], view: View) -> backends.Backend:
        message = f"the {name} backend failed ({error}); this is the extractive answer instead"
        warnings.append(message)
        print(f"warning: {message}", file=self.log)
        return self.backend("extractive", view)
