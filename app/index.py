"""The searchable index of a collection: chunks, their vectors in FAISS, and BM25 over their words.

One build lives in one folder (see storage.py):

    manifest.json           model, chunking settings, every document's sha256, every file's sha256
    chunks.jsonl            one chunk a line, with its sentences and their original spans
    vectors.npy             one normalised vector per chunk
    sentence_vectors.npy    one per sentence, for picking the sentences that answer
    dense.faiss             the vector index
    bm25/                   the BM25 index (bm25s)
    texts/NNNN.txt          each document's text, the one its offsets refer to
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import lexical, storage
from .chunking import chunk
from .cleaning import clean
from .documents import Document, IngestError, discover, load
from .embeddings import Embedder
from .checksums import sha256_file
from .settings import Settings
from .sources import collection, gone
from .vectorfile import VectorFile

FORMAT_VERSION = 1

# Chosen by bench/faiss_types.py (real MiniLM vectors, one thread, p50 of a single query):
# exact search takes 0.3 ms at 10k, 7 ms at 100k, 68 ms at 1M; HNSW (M=32, efSearch=256) 1.1 ms at
# 100k and 1M with recall@10 0.94 and 0.90 of exact. Below 200k chunks exact costs no more than
# embedding the question (8 ms) and loses nothing; above it HNSW.
FLAT_LIMIT = 200_000
HNSW_M = 32
HNSW_EF_SEARCH = 256
# A build that embeds more texts than this gets a warning first (bench/build.py measures texts/s).
LARGE_BUILD = 50_000


def dense_kind(setting: str, n: int) -> str:
    """The FAISS index for n chunks under CITEQA_FAISS_INDEX=setting."""
    if setting == "auto":
        return "flat" if n < FLAT_LIMIT else "hnsw"
    return setting


class IndexUnusable(RuntimeError):
    """The index is missing, damaged or unusable; the message says how to rebuild it."""


@dataclass
class BuildReport:
    documents: int = 0
    chunks: int = 0
    reused: list[str] = field(default_factory=list)
    embedded: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept_after_error: list[str] = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # seconds spent in each stage of the build




def _under(path: str, root: Path) -> bool:
    p, r = Path(path).resolve(), root.resolve()
    return p == r or r in p.parents


def _stat(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


class Index:
    def __init__(self, manifest: dict, chunks: list[dict], vectors: np.ndarray, sentence_vectors: np.ndarray, texts: dict[str, str]):
        self.folder: Path | None = None  # the build folder it was saved to or loaded from
        self.manifest = manifest
        self.chunks = chunks
        self.vectors = vectors
        self.sentence_vectors = sentence_vectors
        self.texts = texts
        self.by_id = {c["id"]: i for i, c in enumerate(self.chunks)}
        self._dense = self._make_dense(dense_kind(manifest.get("faiss_index", "flat"), len(chunks)))
        self._bm25 = None

    # ---- queries -------------------------------------------------------------------------

    @property
    def documents(self) -> dict[str, dict]:
        return self.manifest["documents"]

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
        return self.bm25.get_scores(terms)

    @property
    def bm25(self):
        if self._bm25 is None:
            import bm25s

            self._bm25 = bm25s.BM25()
            self._bm25.index([lexical.tokenize(c["index_text"]) for c in self.chunks], show_progress=False)
        return self._bm25

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of a stemmed term; unseen terms get the rarest weight."""
        vocab = self.bm25.vocab_dict
        n = max(len(self.chunks), 1)
        column = vocab.get(term)
        df = 0 if column is None else int(self.bm25.scores["indptr"][column + 1] - self.bm25.scores["indptr"][column])
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def knows(self, term: str) -> bool:
        return term in self.bm25.vocab_dict

    # ---- building ------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        sources: list[Path],
        embedder: Embedder,
        settings: Settings,
        previous: "Index | None" = None,
        progress: bool = True,
    ) -> tuple["Index", BuildReport]:
        """Index the files under `sources`, reusing what `previous` holds for unchanged documents."""
        started = time.perf_counter()
        report = BuildReport()
        reusable = previous if previous is not None and compatible(previous.manifest, settings, embedder) else None
        files = discover([p for p in sources if p.exists()])
        # A recorded source that is gone (an unmounted disk, a moved folder) keeps its documents
        # until it is removed on purpose.
        orphans: list[str] = []
        for root in (p for p in sources if not p.exists()):
            held = [n for n, d in (reusable.documents.items() if reusable else []) if _under(d["path"], root) and n not in {m for _, m in files}]
            orphans += held
            report.errors.append(IngestError(root, gone(root, len(held)).split(": ", 1)[1]))

        kept: dict[str, tuple[dict, list[dict], np.ndarray, np.ndarray, str]] = {n: reusable._document_parts(n) for n in orphans}
        fresh: dict[str, tuple[dict, list]] = {}
        reading = tqdm(total=sum(_stat(p)[0] for p, _ in files), desc="reading", unit="B", unit_scale=True, disable=not progress, file=sys.stderr)
        for path, name in files:
            old = reusable.documents.get(name) if reusable else None
            size, mtime = _stat(path)
            reading.update(size)
            if old and (old["size"], old["mtime_ns"]) == (size, mtime):
                kept[name] = reusable._document_parts(name, path=str(path))
                continue
            try:
                doc = load(path, name)
            except IngestError as e:
                report.errors.append(e)
                if old:  # a file that no longer reads keeps its last good version
                    kept[name] = reusable._document_parts(name)
                    report.kept_after_error.append(name)
                continue
            if old and old["sha256"] == doc.sha256:
                kept[name] = reusable._document_parts(name, path=str(path), size=size, mtime_ns=mtime)
                continue
            text = clean(doc.text)
            pieces = chunk(text, doc.text, settings.chunk_tokens, settings.chunk_overlap, settings.max_list_tokens)
            fresh[name] = (cls._document_entry(doc, size, mtime, len(pieces)), pieces, doc.text)

        reading.close()
        report.stages["read_and_chunk"] = time.perf_counter() - started
        n_texts = sum(len(pieces) + sum(len(p.sentences) for p in pieces) for _, pieces, _ in fresh.values())
        if progress and n_texts >= LARGE_BUILD:
            print(f"warning: {n_texts:,} passages and sentences to embed from {len(fresh)} new or changed file(s); on a CPU this can take "
                  "hours (the bar below shows the estimate). Ctrl-C stops it and keeps the previous index.", file=sys.stderr)

        if fresh:
            t = time.perf_counter()
            embedder.load()
            report.stages["load_model"] = time.perf_counter() - t
        # Embed everything new in one pass, so the progress bar covers the real work.
        t = time.perf_counter()
        texts = [p.index_text for _, pieces, _ in fresh.values() for p in pieces]
        sentences = [s[2] for _, pieces, _ in fresh.values() for p in pieces for s in p.sentences]
        vectors = embedder.encode(texts + sentences, progress=progress and bool(texts))
        chunk_vectors, sentence_vectors = vectors[: len(texts)], vectors[len(texts) :]
        report.stages["embed"] = time.perf_counter() - t
        t = time.perf_counter()

        manifest_docs: dict[str, dict] = {}
        all_chunks: list[dict] = []
        all_vectors: list[np.ndarray] = []
        all_sentence_vectors: list[np.ndarray] = []
        all_texts: dict[str, str] = {}
        ci = si = 0
        for name in [*(name for _, name in files), *orphans]:
            if name in kept:
                entry, chunks_, vecs, svecs, text = kept[name]
                report.reused.append(name)
            elif name in fresh:
                entry, pieces, text = fresh[name]
                chunks_ = []
                for n, p in enumerate(pieces):
                    chunks_.append(
                        {
                            "id": f"{name}:{n}",
                            "doc": name,
                            "section": p.section,
                            "start": p.start,
                            "end": p.end,
                            "text": p.text,
                            "index_text": p.index_text,
                            "sentences": [list(s) for s in p.sentences],
                        }
                    )
                n_sent = sum(len(p.sentences) for p in pieces)
                vecs = chunk_vectors[ci : ci + len(pieces)]
                svecs = sentence_vectors[si : si + n_sent]
                ci += len(pieces)
                si += n_sent
                report.embedded.append(name)
            else:
                continue
            offset = sum(len(v) for v in all_sentence_vectors)
            for c in chunks_:
                c["s0"] = offset
                offset += len(c["sentences"])
            manifest_docs[name] = entry
            all_chunks.extend(chunks_)
            all_vectors.append(vecs)
            all_sentence_vectors.append(svecs)
            all_texts[name] = text
        if reusable:
            report.removed = sorted(set(reusable.documents) - set(manifest_docs))

        manifest = {
            "format": FORMAT_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "model": {"id": embedder.model_id, "sha256": embedder.fingerprint},
            "chunking": settings.chunking(),
            "faiss_index": settings.faiss_index,
            "dense_index": dense_kind(settings.faiss_index, len(all_chunks)),
            "sources": [str(p) for p in sources],
            "documents": manifest_docs,
        }
        index = cls(
            manifest,
            all_chunks,
            np.concatenate(all_vectors) if all_vectors else np.zeros((0, embedder.dimension), np.float32),
            np.concatenate(all_sentence_vectors) if all_sentence_vectors else np.zeros((0, embedder.dimension), np.float32),
            all_texts,
        )
        report.documents = len(manifest_docs)
        report.chunks = len(all_chunks)
        report.stages["dense_index"] = time.perf_counter() - t
        report.seconds = time.perf_counter() - started
        return index, report

    @staticmethod
    def _document_entry(doc: Document, size: int, mtime_ns: int, n_chunks: int) -> dict:
        return {"path": doc.path, "format": doc.format, "sha256": doc.sha256, "size": size, "mtime_ns": mtime_ns, "chunks": n_chunks}

    @cached_property
    def _rows_by_doc(self) -> dict[str, list[int]]:
        rows: dict[str, list[int]] = {}
        for i, c in enumerate(self.chunks):
            rows.setdefault(c["doc"], []).append(i)
        return rows

    def chunks_of(self, doc: str) -> list[dict]:
        return [self.chunks[i] for i in self.doc_rows(doc)]

    def doc_rows(self, doc: str) -> list[int]:
        return self._rows_by_doc.get(doc, [])

    def _document_parts(self, name: str, **update) -> tuple[dict, list[dict], np.ndarray, np.ndarray, str]:
        rows = self._rows_by_doc[name]
        chunks_ = [dict(self.chunks[i]) for i in rows]
        sentence_rows = [r for c in chunks_ for r in range(c["s0"], c["s0"] + len(c["sentences"]))]
        return (
            {**self.documents[name], **update},
            chunks_,
            self.vectors[rows],
            self.sentence_vectors[sentence_rows],
            self.texts[name],
        )

    def _make_dense(self, kind: str):
        import faiss

        dim = self.vectors.shape[1] if self.vectors.ndim == 2 and self.vectors.shape[1] else 384
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = HNSW_EF_SEARCH
        else:
            index = faiss.IndexFlatIP(dim)
        # Adding to HNSW runs in parallel on every core; dense_search sets one thread for a query.
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        if len(self.vectors):
            index.add(self.vectors)
        return index

    # ---- disk ----------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        import faiss

        folder.mkdir(parents=True, exist_ok=True)
        (folder / "texts").mkdir(exist_ok=True)
        for i, (name, text) in enumerate(self.texts.items()):
            rel = f"texts/{i:05d}.txt"
            with open(folder / rel, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            self.manifest["documents"][name]["text_file"] = rel
        with open(folder / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in self.chunks:
                f.write(json.dumps(c, ensure_ascii=False) + "\n")
        np.save(folder / "vectors.npy", self.vectors)
        np.save(folder / "sentence_vectors.npy", self.sentence_vectors)
        faiss.write_index(self._dense, str(folder / "dense.faiss"))
        self.bm25.save(str(folder / "bm25"))
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json")
        self.manifest["files"] = {p.relative_to(folder).as_posix(): sha256_file(p) for p in files}
        tmp = folder / "manifest.json.tmp"
        tmp.write_text(json.dumps(self.manifest, indent=1, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, folder / "manifest.json")

    @classmethod
    def load(cls, folder: Path, verify: bool = True) -> "Index":
        import bm25s
        import faiss

        rebuild = "rebuild it with `citeqa index`"
        manifest = read_manifest(folder)
        if verify:
            verify_files(folder, manifest)
        try:
            with open(folder / "chunks.jsonl", encoding="utf-8") as f:
                chunks = [json.loads(line) for line in f]
            texts = {}
            for name, doc in manifest["documents"].items():
                with open(folder / doc["text_file"], encoding="utf-8", newline="") as f:
                    texts[name] = f.read()
            index = cls.__new__(cls)
            index.folder = folder
            index.manifest = manifest
            index.chunks = chunks
            index.vectors = VectorFile(folder / "vectors.npy")
            index.sentence_vectors = VectorFile(folder / "sentence_vectors.npy")
            index.texts = texts
            index.by_id = {c["id"]: i for i, c in enumerate(chunks)}
            index._dense = faiss.read_index(str(folder / "dense.faiss"))
            index._bm25 = bm25s.BM25.load(str(folder / "bm25")) if chunks else None
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            raise IndexUnusable(f"the index in {folder} cannot be read ({e}); {rebuild}") from None
        return index


def read_manifest(folder: Path) -> dict:
    """A build's manifest alone: enough to tell whether the build is current, without loading it."""
    rebuild = "rebuild it with `citeqa index`"
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexUnusable(f"{folder}/manifest.json is missing or unreadable ({e}); {rebuild}") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexUnusable(f"{folder} was built by another version of citeqa; {rebuild}")
    return manifest


def verify_files(folder: Path, manifest: dict) -> None:
    """Raise IndexUnusable unless every file of the build is there with the checksum its manifest records."""
    for rel, digest in manifest.get("files", {}).items():
        path = folder / rel
        if not path.is_file() or sha256_file(path) != digest:
            raise IndexUnusable(f"index file {path} is missing or damaged (checksum mismatch); rebuild it with `citeqa index`")


def compatible(manifest: dict, settings: Settings, embedder: Embedder) -> bool:
    """Whether an index's chunks and vectors can be reused under these settings."""
    return (
        manifest.get("format") == FORMAT_VERSION
        and manifest["model"]["sha256"] == embedder.fingerprint
        and manifest["chunking"] == settings.chunking()
    )


def is_current(manifest: dict, sources: list[Path], settings: Settings, embedder: Embedder) -> bool:
    """Whether the index with this manifest was built from exactly these files, with these settings."""
    n = sum(doc["chunks"] for doc in manifest["documents"].values())
    if not compatible(manifest, settings, embedder) or dense_kind(manifest.get("faiss_index", "flat"), n) != dense_kind(settings.faiss_index, n):
        return False
    if {str(p) for p in sources} != set(manifest.get("sources", [])):
        return False
    gone = [p for p in sources if not p.exists()]
    try:
        files = discover([p for p in sources if p.exists()])
    except IngestError:
        return True  # nothing better can be built; keep serving what we have
    documents = {name: d for name, d in manifest["documents"].items() if not any(_under(d["path"], root) for root in gone)}
    if {name for _, name in files} != set(documents):
        return False
    for path, name in files:
        doc = documents[name]
        if (doc["size"], doc["mtime_ns"]) != _stat(path) and doc["sha256"] != sha256_file(path):
            return False
    return True


def open_current(index_dir: Path) -> Index | None:
    build = storage.current_build(index_dir)
    return Index.load(build) if build else None


def build_and_publish(
    index_dir: Path, settings: Settings, embedder: Embedder, add: list[Path] = (), remove: list[Path] = (),
    progress: bool = True, loaded: Index | None = None, rebuild: bool = False,
) -> tuple[Index, BuildReport]:
    """Build incrementally from the current index and make the result current, atomically.

    What to build from is read from the current build under the lock (see sources.py), so a
    builder that waited for another one adds to its work instead of undoing it. `loaded` is an
    index the caller holds in memory; it is reused if it is still the current build (a server
    adding an upload to 100k chunks would otherwise read 1.45 GB again)."""
    with storage.lock(index_dir):
        current = storage.current_build(index_dir)
        try:
            manifest = read_manifest(current) if current else None
        except IndexUnusable:
            manifest = None
        try:
            if rebuild or current is None:
                previous = None
            else:
                previous = loaded if loaded is not None and loaded.folder == current else Index.load(current)
        except IndexUnusable:
            previous = None  # a damaged index is rebuilt from scratch
        index, report = Index.build(collection(settings, manifest, add, remove), embedder, settings, previous, progress)
        t = time.perf_counter()
        index.bm25  # noqa: B018 - built here so its time is reported apart from writing
        report.stages["bm25_index"] = time.perf_counter() - t
        t = time.perf_counter()
        folder = storage.new_build_dir(index_dir)
        try:
            index.save(folder)
            index.folder = storage.publish(index_dir, folder).resolve()
        except BaseException:
            storage.discard(folder)
            raise
        report.stages["save"] = time.perf_counter() - t
        report.seconds += report.stages["bm25_index"] + report.stages["save"]
    return index, report
