"""An LLM answers from the evidence; the answer is then checked against it.

Questions the evidence cannot answer (by the extractive answerer's gate) are refused without
calling the model, which is both honest and fast.
"""

from __future__ import annotations

from typing import Iterator

from .. import lexical, tokens
from ..citations import MARKER, check
from ..embeddings import Embedder
from ..prompts import Prompts, select_evidence
from ..retrieval import Retrieved
from ..settings import Settings
from . import Draft
from .extractive import Extractive
from .generators import Generator, Options


class Generative:
    def __init__(self, generator: Generator, extractive: Extractive, settings: Settings, embedder: Embedder, prompts: Prompts):
        self.generator = generator
        self.name = generator.name
        self.extractive = extractive
        self.settings = settings
        self.embedder = embedder
        self.prompts = prompts
        self.system = prompts.render("system", refusal=prompts.refusal())

    def messages(self, retrieved: Retrieved, candidates) -> tuple[list[dict[str, str]], list]:
        index = self.extractive.index
        chunks_by_n = {n: index.chunks[h.row] for n, h in enumerate(retrieved.hits, start=1)}
        evidence = select_evidence(candidates, chunks_by_n, self.settings.evidence_tokens)
        user = self.prompts.render("answer", passages=evidence, question=retrieved.question)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}], evidence

    def run(self, retrieved: Retrieved) -> Iterator["str | Draft"]:
        candidates = self.extractive.score_sentences(retrieved)
        reason = self.extractive.refusal_reason(retrieved, candidates)
        if reason:
            draft = self.extractive.refuse(reason)
            draft.warnings += self.extractive.injection_warnings(retrieved)
            yield draft.text
            yield draft
            return
        messages, evidence = self.messages(retrieved, candidates)
        injected = self.extractive.injection_warnings(retrieved)
        options = Options(max_tokens=self.settings.max_tokens)
        text = ""
        for delta in self.generator.execute(messages, options):
            text += delta
            yield delta
        index = self.extractive.index
        checked = check(text, evidence, index.sentence_vectors, self.embedder, known=index.knows, question=retrieved.question)
        checked.warnings += injected
        prompt_tokens = sum(tokens.count(m["content"]) for m in messages)
        if checked.refused:
            return (yield Draft(self.prompts.refusal(), abstained=True, grounded=False, warnings=checked.warnings, prompt_tokens=prompt_tokens))
        if not set(lexical.tokenize(MARKER.sub("", checked.text))) - set(lexical.tokenize(retrieved.question)):
            # The model only restated the question: quote the sentences that answer it instead.
            draft = self.extractive.answer(retrieved, candidates)
            draft.warnings = [*checked.warnings, f"the model's answer only restated the question (“{checked.text}”); these are the quoted sentences that answer it"]
            draft.prompt_tokens = prompt_tokens
            return (yield draft)
        if checked.unsupported and not checked.spans:
            # Nothing the model said is backed by the passages: say so rather than pass it on.
            withheld = f"the model's answer is withheld because no passage supports it: “{checked.text}”"
            return (
                yield Draft(
                    self.prompts.refusal(),
                    abstained=True,
                    grounded=False,
                    unsupported=checked.unsupported,
                    warnings=[*checked.warnings, withheld],
                    prompt_tokens=prompt_tokens,
                )
            )
        yield Draft(
            checked.text,
            spans=checked.spans,
            unsupported=checked.unsupported,
            warnings=checked.warnings,
            grounded=checked.grounded,
            prompt_tokens=prompt_tokens,
        )

    def rewrite(self, question: str, history: list[dict[str, str]]) -> str:
        """A follow-up turned into a standalone question by the model."""
        prompt = self.prompts.render("rewrite", history=history[-6:], question=question)
        out = "".join(self.generator.execute([{"role": "user", "content": prompt}], Options(max_tokens=64, stop=["\n"])))
        return out.strip().strip('"').strip()
