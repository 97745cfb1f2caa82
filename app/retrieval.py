"""Hybrid retrieval: dense (MiniLM in FAISS) and sparse (BM25) rankings fused by reciprocal rank."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import lexical
from .answers import Passage
from .embeddings import Embedder
from .index import Index


@dataclass
class Hit:
    row: int  # the chunk's row in the index
    score: float  # fused
    dense: float  # cosine similarity of question and chunk
    bm25: float


@dataclass
class Retrieved:
    """What retrieval found for one question, with what the answerers need to weigh it."""

    question: str
    query_vector: np.ndarray
    terms: list[str]  # the question's stemmed content words
    hits: list[Hit]
    passages: list[Passage]
    timings_ms: dict[str, float] = field(default_factory=dict)


class Retriever:
    def __init__(self, index: Index, embedder: Embedder, candidates: int = 30, rrf_k: int = 60):
        self.index = index
        self.embedder = embedder
        self.candidates = candidates
        self.rrf_k = rrf_k

    def search(self, question: str, k: int) -> Retrieved:
        timings = {}
        t = time.perf_counter()
        query = self.embedder.encode([question])[0]
        timings["embed_query"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        dense_scores, dense_rows = self.index.dense_search(query, self.candidates)
        timings["dense_search"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        terms = lexical.tokenize(question)
        bm25_all = self.index.bm25_scores(terms)
        n_sparse = min(self.candidates, len(bm25_all))
        sparse_rows = np.argsort(-bm25_all, kind="stable")[:n_sparse]
        sparse_rows = sparse_rows[bm25_all[sparse_rows] > 0]
        timings["bm25"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        fused: dict[int, float] = {}
        for ranking in (dense_rows, sparse_rows):
            for rank, row in enumerate(ranking):
                fused[int(row)] = fused.get(int(row), 0.0) + 1.0 / (self.rrf_k + rank + 1)
        best = sorted(fused, key=lambda r: (-fused[r], r))[:k]
        dense_of = dict(zip(map(int, dense_rows), map(float, dense_scores)))
        hits = [
            Hit(row, fused[row], dense_of.get(row, float(self.index.vectors[row] @ query)), float(bm25_all[row]) if len(bm25_all) else 0.0)
            for row in best
        ]
        passages = [self._passage(h) for h in hits]
        timings["fusion"] = (time.perf_counter() - t) * 1000
        return Retrieved(question, query, terms, hits, passages, timings)

    def _passage(self, hit: Hit) -> Passage:
        c = self.index.chunks[hit.row]
        return Passage(c["id"], c["doc"], c["section"], c["start"], c["end"], c["text"], round(hit.score, 6))
