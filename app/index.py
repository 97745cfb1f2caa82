"""The index that retrieval and the answerers read: one published build of the collection, from any store.

Every store (stores/) opens its builds as an `Index`: the manifest, the chunks with their
sentences, the documents' texts (what offsets refer to) in memory; vectors addressed by row;
dense and lexical search, and the term statistics the answerers weigh words with, done the
store's way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import cached_property

import numpy as np


class IndexUnusable(RuntimeError):
    """The index is missing, damaged or unusable; the message says how to rebuild it."""


class Index(ABC):
    def __init__(self, build_id: str, manifest: dict, chunks: list[dict], texts: dict[str, str]):
        self.build_id = build_id  # which published build this is; a store's current_id() names the newest
        self.manifest = manifest
        self.chunks = chunks
        self.texts = texts
        self.by_id = {c["id"]: i for i, c in enumerate(chunks)}

    @property
    def documents(self) -> dict[str, dict]:
        return self.manifest["documents"]

    @cached_property
    def _rows_by_doc(self) -> dict[str, list[int]]:
        rows: dict[str, list[int]] = {}
        for i, c in enumerate(self.chunks):
            rows.setdefault(c["doc"], []).append(i)
        return rows

    def doc_rows(self, doc: str) -> list[int]:
        return self._rows_by_doc.get(doc, [])

    def chunks_of(self, doc: str) -> list[dict]:
        return [self.chunks[i] for i in self.doc_rows(doc)]

    # What a store provides ------------------------------------------------------------------

    vectors: "np.ndarray"  # one normalised vector per chunk, indexable by a row or a list of rows
    sentence_vectors: "np.ndarray"  # one per sentence; a chunk's are rows s0 .. s0 + len(sentences)

    @abstractmethod
    def dense_search(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(cosine scores, rows) of the n chunks nearest to `query`, best first."""

    @abstractmethod
    def bm25_scores(self, terms: list[str]) -> np.ndarray:
        """BM25 of every chunk for these stemmed terms (lexical.tokenize), one score per row."""

    @abstractmethod
    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of a stemmed term; unseen terms get the rarest weight."""

    @abstractmethod
    def knows(self, term: str) -> bool:
        """Whether any chunk holds this stemmed term."""
