"""Running gold cases through the assistant, exactly as `citeqa ask` does, and scoring each one."""

from __future__ import annotations

import math
import re
import string
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field, replace

from tqdm import tqdm

from ..assistant import Assistant
from ..citations import citation_scores
from ..prompts import Evidence, select_evidence
from .gold import Case, Span


@dataclass
class Result:
    id: str
    question: str
    tags: list[str]
    answerable: bool
    answer: str
    abstained: bool
    reference: str
    citations: list[dict]
    passages: list[str]
    facts_found: list[bool] = field(default_factory=list)
    token_f1: float = 0.0
    first_relevant_rank: int | None = None  # 1-based, within the top 10 passages
    ndcg10: float = 0.0
    evidence_coverage: float | None = None
    citation_recall: float | None = None
    citation_precision: float | None = None
    cites_gold: bool | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    answerability: float | None = None
    quotes_facts_ok: bool | None = None  # an LLM backend's case: whether the extractive answer held every fact
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def facts_ok(self) -> bool:
        return self.answerable and not self.abstained and all(self.facts_found)

    @property
    def passed(self) -> bool:
        return self.facts_ok if self.answerable else self.abstained

    def to_dict(self) -> dict:
        return asdict(self) | {"passed": self.passed, "facts_ok": self.facts_ok}


def _normal(text: str) -> str:
    text = text.lower().replace("’", "'").replace("‘", "'")
    return " ".join(text.split())


def _f1(prediction: str, reference: str) -> float:
    """SQuAD token F1: lower case, no punctuation or articles."""

    def toks(s: str) -> list[str]:
        s = re.sub(r"\[\d+\]", " ", s.lower())
        s = "".join(" " if ch in string.punctuation else ch for ch in s)
        return [t for t in s.split() if t not in ("a", "an", "the")]

    p, r = toks(prediction), toks(reference)
    common = sum((Counter(p) & Counter(r)).values())
    if not p or not r or not common:
        return 0.0
    precision, recall = common / len(p), common / len(r)
    return 2 * precision * recall / (precision + recall)


def _overlaps(doc: str, start: int, end: int, spans: list[Span]) -> bool:
    return any(s.doc == doc and start < s.end and s.start < end for s in spans)


def evaluate(assistant: Assistant, cases: list[Case], backend: str | None = None, k: int | None = None, progress: bool = True) -> list[Result]:
    index = assistant.index
    settings = assistant.settings
    extractive = assistant.backend("extractive")
    k = k or settings.top_k
    results = []
    for case in tqdm(cases, desc="evaluating", unit="question", disable=not progress, file=sys.stderr):
        answer = assistant.ask(case.question, history=case.history, k=k, backend=backend)
        r = Result(
            id=case.id, question=case.question, tags=case.tags, answerable=case.answerable, answer=answer.answer,
            abstained=answer.abstained, reference=case.answer,
            citations=[{"n": c.n, "passage_id": c.passage_id, "start": c.start, "end": c.end} for c in answer.citations],
            passages=[p.passage_id for p in answer.passages], timings_ms=answer.timings_ms, warnings=answer.warnings,
            answerability=answer.answerability,
        )
        text = _normal(answer.answer)
        r.facts_found = [any(_normal(alt) in text for alt in fact) for fact in case.facts]
        r.token_f1 = _f1(answer.answer, case.answer) if case.answerable and not answer.abstained else 0.0
        if answer.backend != "extractive" and case.answerable:
            quotes = assistant.ask(case.question, history=case.history, k=k, backend="extractive")
            r.quotes_facts_ok = not quotes.abstained and all(any(_normal(alt) in _normal(quotes.answer) for alt in fact) for fact in case.facts)

        # Retrieval, as the answer saw it (a follow-up is searched in its rewritten form).
        query = answer.standalone_question or answer.question
        if case.evidence:
            top10 = assistant.retrieve(query, max(10, k), case.history)
            relevant = [_overlaps(p.doc, p.start, p.end, case.evidence) for p in top10.passages[:10]]
            r.first_relevant_rank = next((i + 1 for i, hit in enumerate(relevant) if hit), None)
            ideal = sum(_overlaps(c["doc"], c["start"], c["end"], case.evidence) for c in index.chunks)
            dcg = sum(1 / math.log2(i + 2) for i, hit in enumerate(relevant) if hit)
            idcg = sum(1 / math.log2(i + 2) for i in range(min(ideal, 10)))
            r.ndcg10 = dcg / idcg if idcg else 0.0
            # Evidence coverage: gold spans inside what an LLM would be shown, within the token budget.
            # The top k of a search are the first k of a wider one.
            retrieved = replace(top10, hits=top10.hits[:k], passages=top10.passages[:k])
            chunks_by_n = {n: index.chunks[h.row] for n, h in enumerate(retrieved.hits, start=1)}
            shown = select_evidence(extractive.score_sentences(retrieved), chunks_by_n, settings.evidence_tokens)
            spans = [(chunks_by_n[e.n]["doc"], s[0], s[1]) for e in shown for s in e.sentences]
            covered = [any(d == g.doc and a < g.end and g.start < b for d, a, b in spans) for g in case.evidence]
            r.evidence_coverage = sum(covered) / len(covered)

        if case.answerable and not answer.abstained:
            chunks = {n: index.chunks[index.row_of(pid)] for n, pid in enumerate(r.passages, start=1)}
            evidence = [
                Evidence(n, c["section"], [(s[0], s[1], s[2], c["s0"] + j) for j, s in enumerate(c["sentences"])], list(range(len(c["sentences"]))), [s[3] for s in c["sentences"]])
                for n, c in chunks.items()
            ]
            r.citation_recall, r.citation_precision, _ = citation_scores(answer.answer, evidence, index.sentence_vectors, assistant.embedder)
            if case.evidence:
                r.cites_gold = any(_overlaps(c.doc, c.start, c.end, case.evidence) for c in answer.citations)

        if case.answerable:
            if answer.abstained:
                r.failures.append("refused an answerable question")
            missing = [fact[0] for fact, found in zip(case.facts, r.facts_found) if not found]
            if missing and not answer.abstained:
                r.failures.append("missing facts: " + ", ".join(missing))
            if case.evidence and r.first_relevant_rank is None:
                r.failures.append("no gold passage in the top 10")
            if r.cites_gold is False:
                r.failures.append("cites no gold evidence")
        elif not answer.abstained:
            r.failures.append("answered a question the collection cannot answer")
        results.append(r)
    return results
