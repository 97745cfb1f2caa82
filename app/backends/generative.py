"""An LLM writes a short answer in front of the quoted sentences; the answer is checked before it is shown.

Select first, then write: the extractive answerer chooses the sentences to quote (and refuses,
without calling the model, when the evidence cannot answer); the model writes a direct answer
from the evidence; `drafts` decides whether that answer may stand in front of the quotes.
"""

from __future__ import annotations

import time
from contextlib import closing
from dataclasses import replace
from typing import Iterator

from .. import lexical, tokens
from ..citations import check
from ..embeddings import Embedder
from ..prompts import Prompts, select_evidence
from ..retrieval import Retrieved
from ..sentences import Candidate
from ..settings import Settings
from . import Draft, drafts
from .extractive import Extractive
from .generators import Generator, GeneratorFailed, GeneratorUnavailable, Options


class Generative:
    def __init__(self, generator: Generator, extractive: Extractive, settings: Settings, embedder: Embedder, prompts: Prompts):
        self.generator = generator
        self.name = generator.name
        self.extractive = extractive
        self.settings = settings
        self.embedder = embedder
        self.prompts = prompts
        self.system = prompts.render("system")

    def messages(self, retrieved: Retrieved, candidates, style: str = "", first=()) -> tuple[list[dict[str, str]], list]:
        index = self.extractive.index
        chunks_by_n = {n: index.chunks[h.row] for n, h in enumerate(retrieved.hits, start=1)}
        evidence = select_evidence(candidates, chunks_by_n, self.settings.evidence_tokens, first=first)
        # The style goes in the user's turn: the system prompt stays the cached prefix, and the rules in it come first.
        user = self.prompts.render("answer", passages=evidence, question=retrieved.question, style=style)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}], evidence

    def run(self, retrieved: Retrieved, style: str = "") -> Iterator["str | Draft"]:
        """Quotes chosen first, then the model's short answer, shown in front of them only if it passes every check."""
        ex = self.extractive
        candidates = ex.score_sentences(retrieved)
        injected = ex.injection_warnings(retrieved)
        reason = ex.refusal_reason(retrieved, candidates)
        if reason:
            draft = ex.refuse(reason)
            draft.warnings += injected
            yield draft.text
            yield draft
            return
        chosen = ex.choose(candidates, retrieved)
        quotes = ex.compose(chosen)
        threshold, stages = self.settings.judge_threshold, {}
        answerability = None
        if threshold > 0:
            t = time.perf_counter()
            answerability = self.answerability(quotes.text, retrieved.question)
            stages["judge"] = (time.perf_counter() - t) * 1000
            if answerability is not None and answerability < threshold:
                draft = replace(
                    ex.refuse(f"the model judged that the quoted sentences do not answer it (P(yes) {answerability:.2f} < {threshold})"),
                    warnings=injected, answerability=answerability, timings_ms=stages,
                )
                yield draft.text
                yield draft
                return
        # A compound question's parts chose some quotes by their own scores: they lead the evidence.
        messages, evidence = self.messages(retrieved, candidates, style, first=chosen if retrieved.parts else ())
        prompt_tokens = sum(tokens.count(m["content"]) for m in messages)
        raw = ""
        with closing(self.generator.execute(messages, Options(max_tokens=self.settings.max_tokens))) as stream:
            for delta in stream:
                raw += delta
                yield delta
                if drafts.repeats(raw):  # a loop: stop it now rather than at the token limit
                    break
                short = drafts.cut(raw)
                if short is not None:  # a third sentence begun: the answer is long enough
                    raw = short
                    break
        index = ex.index
        checked = check(raw, evidence, index.sentence_vectors, self.embedder, known=index.knows, question=retrieved.question)
        support = _support(checked.spans, evidence)
        why = drafts.rejection(checked, raw, retrieved.question, {t for c in support for t in lexical.tokenize(c.text)}, retrieved.previous)
        if why:
            warning = f"{why}, so this answer is the quoted sentences alone (the model wrote: “{raw.strip()[:300]}”)"
            yield replace(
                quotes, warnings=[*checked.warnings, warning, *injected], prompt_tokens=prompt_tokens, answerability=answerability, timings_ms=stages,
            )
            return
        # The quotes, with the sentences the model's answer rests on when they were not chosen already.
        quoted = {(c.n, c.position) for c in chosen}
        shown = ex.compose(chosen + [c for c in support if (c.n, c.position) not in quoted and c.kind != "item"])
        text = drafts.join(checked.text, shown.text)
        if text.startswith(checked.text.strip()):
            yield text[len(checked.text.strip()):]  # the quotes, streamed after the model's words
        else:
            yield "\n\n"  # the model's words were cut or dropped: the checked answer replaces what was streamed
        spans = {n: list(v) for n, v in checked.spans.items()}
        for n, v in shown.spans.items():
            spans[n] = sorted(set(spans.get(n, [])) | set(v))
        spans = {n: v for n, v in spans.items() if f"[{n}]" in text}  # a copied sentence dropped may take its marker
        yield Draft(
            text, spans=spans, warnings=[*checked.warnings, *injected], grounded=True,
            prompt_tokens=prompt_tokens, answerability=answerability, timings_ms=stages,
        )

    def answerability(self, quotes: str, question: str) -> float | None:
        """The model's judgement that the quoted sentences answer the question (P("yes")), when it can give one.

        Measured with bench/judge.py: with the 0.5B model it separates answerable from unanswerable
        questions only weakly, so it is off unless CITEQA_JUDGE_THRESHOLD is set."""
        judge = getattr(self.generator, "judge", None)
        if judge is None:
            return None
        try:
            return judge([{"role": "user", "content": self.prompts.render("judge", text=quotes, question=question)}])
        except (KeyError, GeneratorFailed, GeneratorUnavailable):
            return None


def _support(spans: dict[int, list[tuple[int, int]]], evidence) -> list[Candidate]:
    """The evidence sentences at the spans the citation check found for the model's sentences."""
    out = []
    for e in evidence:
        for (start, end, text, row), position, kind in zip(e.sentences, e.positions, e.kinds):
            if (start, end) in spans.get(e.n, []):
                out.append(Candidate(e.n, position, row, start, end, text, kind, 0.0, 0.0, 0.0))
    return out
