"""Hybrid retrieval: dense (MiniLM in FAISS) and sparse (BM25) candidates, fused by weighted score or by rank."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import lexical, names, questions, sentences
from .answers import Passage
from .embeddings import Embedder
from .index import Index
from .sentences import FLOW_WINDOW


# A follow-up's passages holding text up to FLOW_WINDOW characters after the last answer gain up to
# FLOW_PASSAGE (bench/README.md, "Follow-ups").
FLOW_PASSAGE = 0.1


# A first question's best RERANK_POOL passages are ranked again by fused score + RERANK_WEIGHT x their
# best sentence's score (sentences.score) (bench/README.md, "Retrieval").
RERANK_POOL, RERANK_WEIGHT = 10, 3.0


@dataclass
class Hit:
    row: int  # the chunk's row in the index
    score: float  # what it was ranked by: fused, and for a first question its best sentence's too
    dense: float  # cosine similarity of question and chunk
    bm25: float


@dataclass
class Part:
    """One part of a compound question (questions.parts), as the sentence selector weighs it."""

    question: str
    query_vector: np.ndarray
    terms: list[str]


@dataclass
class Retrieved:
    """What retrieval found for one question, with what the answerers need to weigh it."""

    question: str
    query_vector: np.ndarray
    terms: list[str]  # the question's stemmed content words
    hits: list[Hit]
    passages: list[Passage]
    timings_ms: dict[str, float] = field(default_factory=dict)
    parts: list[Part] = field(default_factory=list)  # a compound question's parts; [] when it asks one thing
    # In a conversation, where the sentences of the last answer end in each document they are in (said_ends).
    said: dict[str, int] = field(default_factory=dict)
    context: str = ""  # the conversation's last turns as text ("" outside a conversation)
    previous: str = ""  # the conversation's last answer ("" outside a conversation)


def top_rows(scores: np.ndarray, n: int) -> np.ndarray:
    """The rows of the n highest scores, best first, ties by row: a partial sort (a full one of 100k scores cost 5 ms)."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    if n >= len(scores):
        return np.lexsort((np.arange(len(scores)), -scores))
    nth = -np.partition(-scores, n - 1)[n - 1]  # the n-th highest score
    above = np.flatnonzero(scores > nth)
    rows = np.concatenate([above, np.flatnonzero(scores == nth)[: n - len(above)]])  # ties at the cut: lowest rows
    return rows[np.lexsort((rows, -scores[rows]))]


def said_ends(index: Index, rows, previous: str) -> dict[str, int]:
    """Where, in each document, the sentences of these chunks that the conversation's last answer said end."""
    previous = " ".join(previous.split()).lower()
    out: dict[str, int] = {}
    if not previous:
        return out
    for r in rows:
        chunk = index.chunks[r]
        for _, end, text, _ in chunk["sentences"]:
            key = " ".join(text.split()).lower()
            if key[:60] in previous or previous[:60] in key:
                out[chunk["doc"]] = max(out.get(chunk["doc"], 0), end)
    return out


def with_leads(ranking: list[int], leads: list[int], k: int) -> list[int]:
    """The first k of `ranking`, keeping every row of `leads` (each part's best passage) among them, in ranking order."""
    keep = set(leads[:k])
    keep |= set([r for r in ranking if r not in keep][: k - len(keep)])
    return [r for r in ranking if r in keep]


@dataclass
class _Scored:
    """One search's candidate rows: fused score, cosine and BM25 of each."""

    fused: dict[int, float]
    dense_of: dict[int, float]
    bm25_of: dict[int, float]
    bm25_all: np.ndarray

    def add(self, rows: list[int], vectors, query: np.ndarray, fuse) -> None:
        """New candidates, their cosine and BM25 for the question, fused by fuse(row, cosine)."""
        for r, d in zip(rows, (vectors[rows] @ query).tolist() if rows else []):
            self.dense_of[r], self.bm25_of[r] = d, float(self.bm25_all[r])
            self.fused[r] = fuse(r, d)


class Retriever:
    def __init__(
        self, index: Index, embedder: Embedder, candidates: int = 30, fusion: str = "convex", dense_weight: float = 0.5, rrf_k: int = 60,
        context_weight: float = 0.6,
    ):
        self.index = index
        self.embedder = embedder
        self.candidates = candidates
        self.fusion = fusion
        self.dense_weight = dense_weight
        self.rrf_k = rrf_k
        self.context_weight = context_weight

    def search(self, question: str, k: int, context: str = "", previous: str = "") -> Retrieved:
        """The k best passages for `question`; `context` (the conversation so far) favours the documents it is
        about, and the text just after `previous` (the last answer) in them."""
        timings = {}
        asked = questions.parts(question)
        t = time.perf_counter()
        query, *rest = self.embedder.encode([question, *asked, *([context] if context else [])])
        part_vectors, about = rest[: len(asked)], rest[len(asked) :]
        timings["embed_query"] = (time.perf_counter() - t) * 1000
        fused, dense_of, bm25_of, terms, bm25_all = self._fuse(question, query, timings)
        scored = _Scored(fused, dense_of, bm25_of, bm25_all)
        parts, leads = self._add_parts(scored, query, asked, part_vectors)
        said = {}
        if about:
            t = time.perf_counter()
            said = self._follow(scored, question, query, context, about[0], previous)
            timings["context"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        ranking = with_leads(sorted(fused, key=lambda r: (-fused[r], r)), leads, max(k, RERANK_POOL))
        if not about:  # (a follow-up's best sentences rank its passages worse: measured on QuAC)
            started = time.perf_counter()
            ranking = self._rerank(ranking, fused, Part(question, query, terms))
            timings["rerank"] = (time.perf_counter() - started) * 1000
        best = with_leads(ranking, leads, k)
        hits = [Hit(row, fused[row], dense_of[row], bm25_of[row]) for row in best]
        passages = [self._passage(h) for h in hits]
        timings["fusion"] = timings.get("fusion", 0.0) + (time.perf_counter() - t) * 1000 - timings.get("rerank", 0.0)
        return Retrieved(question, query, terms, hits, passages, timings, parts, said, context, previous)

    def _add_parts(self, scored: "_Scored", query: np.ndarray, asked: list[str], vectors) -> tuple[list[Part], list[int]]:
        """A compound question's parts, and each one's best passage (kept among the k); each part's
        passages rank as high as they would for that part asked alone."""
        parts, leads = [], []
        for text, vector in zip(asked, vectors):
            part_fused, _, _, part_terms, _ = self._fuse(text, vector, {})
            scored.add([r for r in part_fused if r not in scored.fused], self.index.vectors, query, lambda r, d: 0.0)
            for r, v in part_fused.items():
                scored.fused[r] = max(scored.fused[r], v)
            parts.append(Part(text, vector, part_terms))
            leads += sorted(part_fused, key=lambda r: (-part_fused[r], r))[:1]
        return parts, list(dict.fromkeys(leads))

    def _follow(self, scored: "_Scored", question: str, query: np.ndarray, context: str, about: np.ndarray, previous: str) -> dict[str, int]:
        """A follow-up is about what the conversation was about: the documents that the conversation's
        own words find best get a share of the score, and their passages are candidates even when the
        question's words alone would not find them; the passages reading on from the last answer
        (`previous`) gain too. Where the last answer ends in each document (said_ends) that the
        follow-up is still about: one that lacks a name the question asks about ("What did FED
        propose?" after a question on ASEAN) is not."""
        prior = self._fuse(context, about, {})[0]
        top = max(prior.values(), default=0.0) or 1.0
        doc_score: dict[str, float] = {}
        for r, v in prior.items():
            doc = self.index.chunks[r]["doc"]
            doc_score[doc] = max(doc_score.get(doc, 0.0), v / top)
        focus = sorted(doc_score, key=lambda d: -doc_score[d])[:2]
        top_bm25 = max(scored.bm25_of.values(), default=0.0) or 1.0
        # scored as convex fusion scores them (under RRF they have no rank: they enter on the prior alone)
        scored.add(
            [r for d in focus for r in self.index.doc_rows(d) if r not in scored.fused], self.index.vectors, query,
            lambda r, d: self.dense_weight * d + (1 - self.dense_weight) * min(1.0, scored.bm25_of[r] / top_bm25) if self.fusion == "convex" else 0.0,
        )
        fused = scored.fused
        said = said_ends(self.index, [r for r in fused if self.index.chunks[r]["doc"] in focus], previous)
        asked = names.in_question(question)
        for doc in list(said) if asked else []:
            held = set(lexical.tokenize(self.index.texts[doc]))
            if not all(names.known_form(name, held.__contains__) for name in asked):
                del said[doc]
        for r in fused:
            c = self.index.chunks[r]
            fused[r] += self.context_weight * doc_score.get(c["doc"], 0.0)
            if c["doc"] in said and c["end"] > said[c["doc"]]:  # it holds text after the last answer
                fused[r] += FLOW_PASSAGE * max(0.0, 1 - max(0, c["start"] - said[c["doc"]]) / FLOW_WINDOW)
        return said

    def _rerank(self, ranking: list[int], fused: dict[int, float], asked: Part) -> list[int]:
        """The passage whose best sentence answers best first (the passage the answer will quote); `fused` updated."""
        best_sentence: dict[int, float] = {}
        for c in sentences.score(self.index, ranking, asked, {}):
            best_sentence.setdefault(ranking[c.n - 1], c.score)
        for r in ranking:
            fused[r] += RERANK_WEIGHT * best_sentence.get(r, 0.0)
        return sorted(ranking, key=lambda r: (-fused[r], r))

    def _fuse(self, question: str, query: np.ndarray, timings: dict[str, float]):
        """Dense and BM25 candidates of one query, with their fused scores."""

        t = time.perf_counter()
        dense_scores, dense_rows = self.index.dense_search(query, self.candidates)
        timings["dense_search"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        terms = lexical.tokenize(question)
        bm25_all = self.index.bm25_scores(terms)
        sparse_rows = top_rows(bm25_all, self.candidates)
        sparse_rows = sparse_rows[bm25_all[sparse_rows] > 0]
        timings["bm25"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        rows = list(dict.fromkeys([*map(int, dense_rows), *map(int, sparse_rows)]))
        # Exact cosine for every candidate, including those only BM25 found.
        dense_of = dict(zip(rows, (self.index.vectors[rows] @ query).tolist())) if rows else {}
        bm25_of = {r: float(bm25_all[r]) for r in rows}
        if self.fusion == "rrf":
            fused = {r: 0.0 for r in rows}
            for ranking in (dense_rows, sparse_rows):
                for rank, row in enumerate(ranking):
                    fused[int(row)] += 1.0 / (self.rrf_k + rank + 1)
        else:  # convex: cosine and BM25 relative to the best BM25 score, weighted
            top_bm25 = max(bm25_of.values(), default=0.0) or 1.0
            fused = {r: self.dense_weight * dense_of[r] + (1 - self.dense_weight) * bm25_of[r] / top_bm25 for r in rows}
        timings["fusion"] = (time.perf_counter() - t) * 1000
        return fused, dense_of, bm25_of, terms, bm25_all

    def _passage(self, hit: Hit) -> Passage:
        c = self.index.chunks[hit.row]
        title = self.index.documents[c["doc"]].get("title", "") or c["doc"]
        return Passage(c["id"], c["doc"], c["section"], c["start"], c["end"], c["text"], round(hit.score, 6), title)
