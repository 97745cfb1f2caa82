"""The embedded store: each build a folder of files, FAISS for dense search and bm25s for BM25.

    builds/<id>/manifest.json           the manifest (manifest.py), plus every file's sha256, size and mtime
               chunks.jsonl             one chunk a line, with its sentences and their original spans
               chunk_offsets.npy        where each line starts (lazy.py: a chunk is read when asked for)
               texts.txt                the documents' texts, the ones offsets refer to, end to end
               text_offsets.npy         where each starts, in the manifest's order of documents
               vectors.npy              one normalised vector per chunk
               sentence_vectors.npy     one per sentence, for picking the sentences that answer
               words.txt                the build's distinct words, sorted, one a line (Index.vocabulary;
                                        a build made before it had none computes them from its chunks)
               dense.faiss              the vector index
               bm25/                    the BM25 index (bm25s)

in the index folder that storage.py lays out (the `current` link, the lock).
"""

from __future__ import annotations

import json
import math
import os
import time
from functools import cached_property
from pathlib import Path

import numpy as np

from .. import lexical, storage
from ..checksums import sha256_file
from ..index import Index, IndexUnusable, vocabulary_of
from ..manifest import FORMAT_VERSION, dense_kind
from ..vectorfile import VectorFile
from .lazy import ChunkTable, DocumentTexts, Records, write_records
from . import Store

HNSW_M = 32
HNSW_EF_SEARCH = 256
REBUILD = "rebuild it with `citeqa index`"


class FolderIndex(Index):
    def __init__(self, build_id: str, manifest: dict, chunks: list[dict], texts: dict[str, str], vectors, sentence_vectors, dense, bm25,
                 words: Path | None = None):
        super().__init__(build_id, manifest, chunks, texts)
        self.vectors = vectors
        self.sentence_vectors = sentence_vectors
        self._dense = dense
        self._bm25 = bm25
        self._words = words

    @cached_property
    def vocabulary(self) -> list[str]:
        # Read, not computed: computing it reads every chunk (seconds at 100k, at the first question with an unknown name).
        if self._words is None:
            return super().vocabulary
        return self._words.read_text(encoding="utf-8").split("\n")[:-1]

    def dense_search(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        if not self.chunks:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        import faiss

        # One thread: a single query on two was measured up to 55x slower at 10k vectors. Set here,
        # where the search runs, because OpenMP's thread count is per calling thread.
        faiss.omp_set_num_threads(1)
        scores, ids = self._dense.search(query.reshape(1, -1), min(n, len(self.chunks)))
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def bm25_scores(self, terms: list[str]) -> np.ndarray:
        if not self.chunks or not terms:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return self._bm25.get_scores(terms)

    def idf(self, term: str) -> float:
        n = max(len(self.chunks), 1)
        column = self._bm25.vocab_dict.get(term) if self._bm25 else None
        indptr = self._bm25.scores["indptr"] if self._bm25 else None
        df = 0 if column is None else int(indptr[column + 1] - indptr[column])
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def knows(self, term: str) -> bool:
        return bool(self._bm25) and term in self._bm25.vocab_dict


def make_dense(vectors: np.ndarray, kind: str):
    import faiss

    dim = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else 384
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dim)
    # Adding to HNSW runs in parallel on every core; dense_search sets one thread for a query.
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    if len(vectors):
        index.add(vectors)
    return index


def make_bm25(chunks: list[dict]):
    import bm25s

    if not chunks:
        return None
    bm25 = bm25s.BM25()
    bm25.index([lexical.tokenize(c["index_text"]) for c in chunks], show_progress=False)
    return bm25


def read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexUnusable(f"{folder}/manifest.json is missing or unreadable ({e}); {REBUILD}") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexUnusable(f"{folder} was built by another version of citeqa; {REBUILD}")
    return manifest


def verify_files(folder: Path, manifest: dict, thorough: bool = True) -> None:
    """Check every file against the manifest: its sha256 (`thorough`), or else its size, and its
    sha256 only when its mtime is not the one saved (1.45 GB of a 100k-chunk build took 1 s to hash)."""
    for rel, saved in manifest.get("files", {}).items():
        path = folder / rel
        try:
            st = path.stat()
        except OSError:
            st = None
        if st is None or st.st_size != saved["bytes"] or (
            (thorough or st.st_mtime_ns != saved["mtime_ns"]) and sha256_file(path) != saved["sha256"]
        ):
            raise IndexUnusable(f"index file {path} is missing or damaged (checksum mismatch); {REBUILD}")


def save(build, dense, bm25, folder: Path) -> dict:
    """Write a build into `folder`; the manifest, written last and renamed into place, records every file's sha256."""
    import faiss

    manifest = json.loads(json.dumps(build.manifest))
    folder.mkdir(parents=True, exist_ok=True)
    texts = [build.texts[name].encode("utf-8") for name in manifest["documents"]]
    np.save(folder / "text_offsets.npy", write_records(folder / "texts.txt", texts))
    lines = ((json.dumps(c, ensure_ascii=False) + "\n").encode("utf-8") for c in build.chunks)
    np.save(folder / "chunk_offsets.npy", write_records(folder / "chunks.jsonl", lines))
    np.save(folder / "vectors.npy", build.vectors)
    np.save(folder / "sentence_vectors.npy", build.sentence_vectors)
    (folder / "words.txt").write_text("".join(w + "\n" for w in vocabulary_of(c["index_text"] for c in build.chunks)), encoding="utf-8")
    faiss.write_index(dense, str(folder / "dense.faiss"))
    if bm25 is not None:
        bm25.save(str(folder / "bm25"))
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json")
    manifest["files"] = {
        p.relative_to(folder).as_posix(): {"sha256": sha256_file(p), "bytes": p.stat().st_size, "mtime_ns": p.stat().st_mtime_ns}
        for p in files
    }
    tmp = folder / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, folder / "manifest.json")
    return manifest


def load(folder: Path, thorough: bool = False) -> FolderIndex:
    import bm25s
    import faiss

    manifest = read_manifest(folder)
    verify_files(folder, manifest, thorough)
    try:
        chunks = ChunkTable(Records(folder / "chunks.jsonl", np.load(folder / "chunk_offsets.npy")))
        texts = DocumentTexts(list(manifest["documents"]), Records(folder / "texts.txt", np.load(folder / "text_offsets.npy")))
        return FolderIndex(
            str(folder), manifest, chunks, texts, VectorFile(folder / "vectors.npy"), VectorFile(folder / "sentence_vectors.npy"),
            faiss.read_index(str(folder / "dense.faiss")), bm25s.BM25.load(str(folder / "bm25")) if len(chunks) else None,
            folder / "words.txt" if "words.txt" in manifest["files"] else None,
        )
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        raise IndexUnusable(f"the index in {folder} cannot be read ({e}); {REBUILD}") from None


class FolderStore(Store):
    def __init__(self, index_dir: Path):
        self.index_dir = Path(index_dir)

    def describe(self) -> str:
        return str(self.index_dir)

    def lock(self):
        return storage.lock(self.index_dir)

    def current_id(self) -> str | None:
        build = storage.current_build(self.index_dir)
        return str(build) if build else None

    def manifest(self) -> dict | None:
        build = storage.current_build(self.index_dir)
        return read_manifest(build) if build else None

    def verify(self) -> None:
        build = storage.current_build(self.index_dir)
        if build is not None:
            verify_files(build, read_manifest(build))

    def open(self) -> FolderIndex | None:
        build = storage.current_build(self.index_dir)
        return load(build) if build else None

    def publish(self, build, stages: dict[str, float]) -> FolderIndex:
        t = time.perf_counter()
        dense = make_dense(build.vectors, dense_kind(build.manifest.get("faiss_index", "flat"), len(build.chunks)))
        stages["dense_index"] = time.perf_counter() - t
        t = time.perf_counter()
        bm25 = make_bm25(build.chunks)
        stages["bm25_index"] = time.perf_counter() - t
        t = time.perf_counter()
        folder = storage.new_build_dir(self.index_dir)
        try:
            manifest = save(build, dense, bm25, folder)
            final = storage.publish(self.index_dir, folder).resolve()
        except BaseException:
            storage.discard(folder)
            raise
        stages["save"] = time.perf_counter() - t
        return FolderIndex(str(final), manifest, build.chunks, build.texts, build.vectors, build.sentence_vectors, dense, bm25)
