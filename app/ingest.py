"""Building a collection's index from its documents: read, clean, chunk, embed what is new, reuse what is not.

The result is a `Build` in memory; a store (stores/) publishes it. `update` is the whole step:
under the store's lock, read what the collection holds (sources.py), build from the current
index, publish atomically.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .chunking import chunk
from .cleaning import clean
from .documents import Document, IngestError, discover, load, stamp, title
from .embeddings import Embedder
from .index import Index, IndexUnusable
from .manifest import FORMAT_VERSION, compatible, dense_kind
from .settings import Settings
from .sources import collection, gone, under

# A build that embeds more texts than this gets a warning first (bench/build.py measures texts/s).
LARGE_BUILD = 50_000
BIG_FILE = 5_000_000  # bytes: a file this large gets its own line before it is read


@dataclass
class Part:
    """One document of a build. What a store writes of it (chunks with `s0` counted from the
    document's first sentence, chunk vectors, sentence vectors, text) is produced by `load`, for a
    reused document read from the previous build only then: a store that holds that document
    version already (PostgreSQL) never reads it."""

    name: str
    entry: dict
    sentences: int
    load: Callable[[], tuple[list[dict], np.ndarray, np.ndarray, str]]


@dataclass
class Build:
    """A collection's index before a store publishes it: its documents in the manifest's order."""

    manifest: dict
    parts: list[Part]
    dimension: int

    @cached_property
    def _whole(self) -> tuple[list[dict], np.ndarray, np.ndarray, dict[str, str]]:
        """Every part loaded, its chunks renumbered into the build's sentence rows; vectors filled in
        place: at 100k chunks a concatenation of copies would hold every vector three times at once."""
        vectors = np.empty((sum(p.entry["chunks"] for p in self.parts), self.dimension), dtype=np.float32)
        sentence_vectors = np.empty((sum(p.sentences for p in self.parts), self.dimension), dtype=np.float32)
        chunks, texts, ci, si = [], {}, 0, 0
        for p in self.parts:
            chunks_, vecs, svecs, texts[p.name] = p.load()
            chunks.extend({**c, "s0": c["s0"] + si} for c in chunks_)
            vectors[ci : ci + len(vecs)] = vecs
            sentence_vectors[si : si + len(svecs)] = svecs
            ci += len(vecs)
            si += len(svecs)
        return chunks, vectors, sentence_vectors, texts

    @property
    def chunks(self) -> list[dict]:
        return self._whole[0]

    @property
    def vectors(self) -> np.ndarray:
        return self._whole[1]

    @property
    def sentence_vectors(self) -> np.ndarray:
        return self._whole[2]

    @property
    def texts(self) -> dict[str, str]:
        return self._whole[3]


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


def build(
    sources: list[Path], embedder: Embedder, settings: Settings, previous: Index | None = None, progress: bool = True
) -> tuple[Build, BuildReport]:
    """Index the files under `sources`, reusing what `previous` holds for unchanged documents."""
    started = time.perf_counter()
    report = BuildReport()
    reusable = previous if previous is not None and compatible(previous.manifest, settings, embedder) else None
    files = discover([p for p in sources if p.exists()])
    # A recorded source that is gone (an unmounted disk, a moved folder) keeps its documents
    # until it is removed on purpose.
    orphans: list[str] = []
    for root in (p for p in sources if not p.exists()):
        held = [n for n, d in (reusable.documents.items() if reusable else []) if under(d["path"], root) and n not in {m for _, m in files}]
        orphans += held
        report.errors.append(IngestError(root, gone(root, len(held)).split(": ", 1)[1]))

    kept: dict[str, Part] = {n: _reused(reusable, n) for n in orphans}
    fresh: dict[str, tuple[dict, list]] = {}
    reading = tqdm(total=sum(stamp(p)[0] for p, _ in files), desc="reading", unit="B", unit_scale=True, disable=not progress, file=sys.stderr)
    for path, name in files:
        old = reusable.documents.get(name) if reusable else None
        size, mtime = stamp(path)
        reading.update(size)
        if progress and size > BIG_FILE and not (old and (old["size"], old["mtime_ns"]) == (size, mtime)):
            tqdm.write(f"reading and chunking {name} ({size / 1e6:.0f} MB) ...", file=sys.stderr)
        if old and (old["size"], old["mtime_ns"]) == (size, mtime):
            kept[name] = _reused(reusable, name, path=str(path))
            continue
        try:
            doc = load(path, name)
        except IngestError as e:
            report.errors.append(e)
            if old:  # a file that no longer reads keeps its last good version
                kept[name] = _reused(reusable, name)
                report.kept_after_error.append(name)
            continue
        if old and old["sha256"] == doc.sha256:
            kept[name] = _reused(reusable, name, path=str(path), size=size, mtime_ns=mtime)
            continue
        text = clean(doc.text)
        pieces = chunk(text, doc.text, settings.chunk_tokens, settings.chunk_overlap, settings.max_list_tokens)
        fresh[name] = (_entry(doc, size, mtime, len(pieces)), pieces, doc.text)

    reading.close()
    report.stages["read_and_chunk"] = time.perf_counter() - started
    all_pieces = [p for _, pieces, _ in fresh.values() for p in pieces]
    sentences = [s[2] for p in all_pieces for s in p.sentences]
    # Only sentences and headings are embedded; each chunk's vector is made from theirs (chunk_vectors).
    # Each distinct text once: chunks overlap, so many sentences are in two of them.
    distinct = {text: i for i, text in enumerate(dict.fromkeys(sentences + [p.heading for p in all_pieces if p.heading]))}
    if fresh:
        t = time.perf_counter()
        embedder.load(bulk=embedder.is_bulk(len(distinct)))
        report.stages["load_model"] = time.perf_counter() - t
    if progress and len(distinct) >= LARGE_BUILD:
        _warn_large(embedder, list(distinct), len(fresh))
    # Embed everything new in one pass, so the progress bar covers the real work.
    t = time.perf_counter()
    vectors = embedder.encode(list(distinct), progress=progress and bool(all_pieces))
    embedder.release_bulk()
    sentence_rows = np.array([distinct[x] for x in sentences], dtype=np.int64)
    chunk_vecs = chunk_vectors(all_pieces, vectors, sentence_rows, distinct)
    del distinct, sentences, all_pieces
    report.stages["embed"] = time.perf_counter() - t
    t = time.perf_counter()

    parts: list[Part] = []
    ci = si = 0
    for name in [*(name for _, name in files), *orphans]:
        if name in kept:
            parts.append(kept[name])
            report.reused.append(name)
        elif name in fresh:
            entry, pieces, text = fresh[name]
            chunks_, offset = [], 0
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
                        "s0": offset,
                    }
                )
                offset += len(p.sentences)
            rows, sentence_rows_ = slice(ci, ci + len(pieces)), sentence_rows[si : si + offset]
            ci += len(pieces)
            si += offset
            parts.append(Part(name, entry, offset, lambda c=chunks_, r=rows, s=sentence_rows_, t=text: (c, chunk_vecs[r], vectors[s], t)))
            report.embedded.append(name)
    manifest_docs = {p.name: p.entry for p in parts}
    n_chunks = sum(p.entry["chunks"] for p in parts)
    if reusable:
        report.removed = sorted(set(reusable.documents) - set(manifest_docs))

    manifest = {
        "format": FORMAT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": {"id": embedder.model_id, "sha256": embedder.fingerprint},
        "chunking": settings.chunking(),
        "faiss_index": settings.faiss_index,
        "dense_index": dense_kind(settings.faiss_index, n_chunks),
        "sources": [str(p) for p in sources],
        "documents": manifest_docs,
    }
    result = Build(manifest, parts, embedder.dimension)
    report.documents = len(manifest_docs)
    report.chunks = n_chunks
    report.stages["assemble"] = time.perf_counter() - t
    report.seconds = time.perf_counter() - started
    return result, report


# How much a chunk's heading (its section and list context) counts beside its sentences (bench/README.md, "Chunk vectors from sentence vectors").
HEADING_WEIGHT = 0.3


def chunk_vectors(pieces: list, vectors: np.ndarray, sentence_rows: np.ndarray, rows_of: dict[str, int]) -> np.ndarray:
    """Each chunk's vector: the mean of its sentences' vectors weighted by their length, plus
    HEADING_WEIGHT of its heading's vector, normalised. Embedding the chunks themselves besides
    their sentences would double a build's work; retrieval on both gold sets is as good with these."""
    out = np.empty((len(pieces), vectors.shape[1]), dtype=np.float32)
    si = 0
    for i, p in enumerate(pieces):
        n = len(p.sentences)
        lengths = np.array([max(len(s[2]), 1) for s in p.sentences], dtype=np.float32)
        body = lengths @ vectors[sentence_rows[si : si + n]]
        si += n
        body /= np.linalg.norm(body)
        if p.heading:
            body += HEADING_WEIGHT * vectors[rows_of[p.heading]]
        out[i] = body / np.linalg.norm(body)
    return out


def _warn_large(embedder: Embedder, texts: list[str], n_files: int) -> None:
    """Before a build that will take long: how long, from the rate measured on a random sample of its texts."""
    import random

    warm, sample = (random.Random(seed).sample(texts, min(len(texts), 8 * embedder.batch_size)) for seed in (0, 1))
    embedder.encode(warm, bulk=True)  # the first steps pay for per-thread set-up
    t = time.perf_counter()
    embedder.encode(sample, bulk=True)
    rate = len(sample) / max(time.perf_counter() - t, 1e-6)
    hours = len(texts) / rate / 3600
    took = f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h"
    print(f"warning: {len(texts):,} sentences and headings to embed from {n_files} new or changed file(s): about {took} "
          f"at the {rate:.0f} texts/s measured on a sample", file=sys.stderr)
    print("Ctrl-C stops the build and keeps the previous index.", file=sys.stderr)


def _entry(doc: Document, size: int, mtime_ns: int, n_chunks: int) -> dict:
    return {"path": doc.path, "format": doc.format, "sha256": doc.sha256, "size": size, "mtime_ns": mtime_ns, "chunks": n_chunks,
            "title": doc.title}


def _reused(index: Index, name: str, **update) -> Part:
    """A document carried over from `index` unchanged; its chunks, vectors and text are read only if a store asks."""
    entry = {**index.documents[name], **update}
    if "title" not in entry:  # built before titles were kept
        entry["title"] = title(index.texts[name])

    def load() -> tuple[list[dict], np.ndarray, np.ndarray, str]:
        chunks_ = index.chunks_of(name)
        first = chunks_[0]["s0"] if chunks_ else 0
        sentence_rows = [r for c in chunks_ for r in range(c["s0"], c["s0"] + len(c["sentences"]))]
        return ([{**c, "s0": c["s0"] - first} for c in chunks_], index.vectors[index.doc_rows(name)], index.sentence_vectors[sentence_rows],
                index.texts[name])

    return Part(name, entry, index.sentence_count(name), load)


def update(
    store, settings: Settings, embedder: Embedder, add: list[Path] = (), remove: list[Path] = (),
    progress: bool = True, loaded: Index | None = None, rebuild: bool = False,
) -> tuple[Index, BuildReport]:
    """Build incrementally from the store's current index and publish the result, atomically.

    What to build from is read from the current build under the lock (see sources.py), so a
    builder that waited for another one adds to its work instead of undoing it. `loaded` is an
    index the caller holds in memory; it is reused if it is still the current build (a server
    adding an upload to 100k chunks would otherwise read 1.45 GB again)."""
    with store.lock():
        current = store.current_id()
        try:
            manifest = store.manifest()
        except IndexUnusable:
            manifest = None
        try:
            if rebuild or current is None:
                previous = None
            else:
                previous = loaded if loaded is not None and loaded.build_id == current else store.open()
        except IndexUnusable:
            previous = None  # a damaged index is rebuilt from scratch
        result, report = build(collection(settings, manifest, add, remove), embedder, settings, previous, progress)
        published = time.perf_counter()
        index = store.publish(result, report.stages)
        report.seconds += time.perf_counter() - published
    return index, report
