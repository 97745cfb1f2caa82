"""The index that retrieval and the answerers read: one published build of the collection, from any store.

Every store (stores/) opens its builds as an `Index`: the manifest, the chunks with their
sentences and the documents' texts (what offsets refer to), each a sequence or mapping that may
read from disk when asked (stores/lazy.py); vectors addressed by row;
dense and lexical search, and the term statistics the answerers weigh words with, done the
store's way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from functools import cached_property

import numpy as np

from . import lexical


class IndexUnusable(RuntimeError):
    """The index is missing, damaged or unusable; the message says how to rebuild it."""


class Index(ABC):
    def __init__(self, build_id: str, manifest: dict, chunks: Sequence[dict], texts: Mapping[str, str]):
        self.build_id = build_id  # which published build this is; a store's current_id() names the newest
        self.manifest = manifest
        self.chunks = chunks
        self.texts = texts
        if sum(d["chunks"] for d in self.documents.values()) != len(chunks):
            raise IndexUnusable(f"build {build_id} lists {sum(d['chunks'] for d in self.documents.values())} chunks "
                                f"in its manifest but holds {len(chunks)}; rebuild it with `citeqa index`")

    @property
    def documents(self) -> dict[str, dict]:
        return self.manifest["documents"]

    @cached_property
    def _first_row(self) -> dict[str, int]:
        """Each document's first chunk row: a build lays documents' chunks out in the manifest's order."""
        rows, row = {}, 0
        for name, d in self.documents.items():
            rows[name] = row
            row += d["chunks"]
        return rows

    def doc_rows(self, doc: str) -> list[int]:
        if doc not in self._first_row:
            return []
        first = self._first_row[doc]
        return list(range(first, first + self.documents[doc]["chunks"]))

    def row_of(self, passage_id: str) -> int | None:
        """The row of a passage id ("doc:n", the document's n-th chunk), or None if there is none."""
        doc, _, n = passage_id.rpartition(":")
        if doc not in self._first_row or not n.isdigit() or int(n) >= self.documents[doc]["chunks"]:
            return None
        return self._first_row[doc] + int(n)

    def chunks_of(self, doc: str) -> list[dict]:
        return [self.chunks[i] for i in self.doc_rows(doc)]

    def sentence_count(self, doc: str) -> int:
        """How many sentence vectors the document has."""
        return sum(len(c["sentences"]) for c in self.chunks_of(doc))

    @cached_property
    def vocabulary(self) -> list[str]:
        """Every distinct word of the chunks (lexical.words), sorted: for a name spelled another way (names.py)."""
        return vocabulary_of(c["index_text"] for c in self.chunks)

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


def vocabulary_of(texts) -> list[str]:
    """The distinct words (lexical.words) of these texts, sorted."""
    return sorted({w for t in texts for w in lexical.words(t)})
