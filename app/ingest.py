"""Building a collection's index from its documents: read, clean, chunk, embed what is new, reuse what is not.

The result is a `Build` in memory; a store (stores/) publishes it. `update` is the whole step:
under the store's lock, read what the collection holds (sources.py), build from the current
index, publish atomically.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
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
class Build:
    """A whole index in memory, before a store publishes it."""

    manifest: dict
    chunks: list[dict]
    vectors: np.ndarray
    sentence_vectors: np.ndarray
    texts: dict[str, str]


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

    kept: dict[str, tuple[dict, list[dict], np.ndarray, np.ndarray, str]] = {n: _parts(reusable, n) for n in orphans}
    fresh: dict[str, tuple[dict, list]] = {}
    reading = tqdm(total=sum(stamp(p)[0] for p, _ in files), desc="reading", unit="B", unit_scale=True, disable=not progress, file=sys.stderr)
    for path, name in files:
        old = reusable.documents.get(name) if reusable else None
        size, mtime = stamp(path)
        reading.update(size)
        if progress and size > BIG_FILE and not (old and (old["size"], old["mtime_ns"]) == (size, mtime)):
            tqdm.write(f"reading and chunking {name} ({size / 1e6:.0f} MB) ...", file=sys.stderr)
        if old and (old["size"], old["mtime_ns"]) == (size, mtime):
            kept[name] = _parts(reusable, name, path=str(path))
            continue
        try:
            doc = load(path, name)
        except IngestError as e:
            report.errors.append(e)
            if old:  # a file that no longer reads keeps its last good version
                kept[name] = _parts(reusable, name)
                report.kept_after_error.append(name)
            continue
        if old and old["sha256"] == doc.sha256:
            kept[name] = _parts(reusable, name, path=str(path), size=size, mtime_ns=mtime)
            continue
        text = clean(doc.text)
        pieces = chunk(text, doc.text, settings.chunk_tokens, settings.chunk_overlap, settings.max_list_tokens)
        fresh[name] = (_entry(doc, size, mtime, len(pieces)), pieces, doc.text)

    reading.close()
    report.stages["read_and_chunk"] = time.perf_counter() - started
    texts = [p.index_text for _, pieces, _ in fresh.values() for p in pieces]
    sentences = [s[2] for _, pieces, _ in fresh.values() for p in pieces for s in p.sentences]
    # Each distinct text once: chunks overlap, so many sentences are in two of them.
    distinct = {text: i for i, text in enumerate(dict.fromkeys(texts + sentences))}
    if fresh:
        t = time.perf_counter()
        embedder.load(bulk=embedder.is_bulk(len(distinct)))
        report.stages["load_model"] = time.perf_counter() - t
    if progress and len(distinct) >= LARGE_BUILD:
        _warn_large(embedder, list(distinct), len(fresh))
    # Embed everything new in one pass, so the progress bar covers the real work.
    t = time.perf_counter()
    vectors = embedder.encode(list(distinct), progress=progress and bool(texts))
    chunk_rows = np.array([distinct[x] for x in texts], dtype=np.int64)
    sentence_rows = np.array([distinct[x] for x in sentences], dtype=np.int64)
    del distinct, texts, sentences
    report.stages["embed"] = time.perf_counter() - t
    t = time.perf_counter()

    manifest_docs: dict[str, dict] = {}
    all_chunks: list[dict] = []
    # Where each document's vectors come from: an array of the previous build's, or rows of `vectors`.
    chunk_parts: list[np.ndarray] = []
    sentence_parts: list[np.ndarray] = []
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
            vecs = chunk_rows[ci : ci + len(pieces)]
            svecs = sentence_rows[si : si + n_sent]
            ci += len(pieces)
            si += n_sent
            report.embedded.append(name)
        else:
            continue
        offset = sum(len(v) for v in sentence_parts)
        for c in chunks_:
            c["s0"] = offset
            offset += len(c["sentences"])
        manifest_docs[name] = entry
        all_chunks.extend(chunks_)
        chunk_parts.append(vecs)
        sentence_parts.append(svecs)
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
    result = Build(manifest, all_chunks, _gather(chunk_parts, vectors), _gather(sentence_parts, vectors), all_texts)
    report.documents = len(manifest_docs)
    report.chunks = len(all_chunks)
    report.stages["assemble"] = time.perf_counter() - t
    report.seconds = time.perf_counter() - started
    return result, report


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
    print(f"warning: {len(texts):,} passages and sentences to embed from {n_files} new or changed file(s): about {took} "
          f"at the {rate:.0f} texts/s measured on a sample", file=sys.stderr)
    print("Ctrl-C stops the build and keeps the previous index.", file=sys.stderr)


def _gather(parts: list[np.ndarray], embedded: np.ndarray) -> np.ndarray:
    """One matrix from parts that are either vectors (reused) or row numbers into `embedded`, filled in
    place: at 100k chunks a concatenation of copies would hold every vector three times at once."""
    out = np.empty((sum(len(p) for p in parts), embedded.shape[1]), dtype=np.float32)
    at = 0
    for p in parts:
        out[at : at + len(p)] = embedded[p] if p.ndim == 1 else p
        at += len(p)
    return out


def _entry(doc: Document, size: int, mtime_ns: int, n_chunks: int) -> dict:
    return {"path": doc.path, "format": doc.format, "sha256": doc.sha256, "size": size, "mtime_ns": mtime_ns, "chunks": n_chunks,
            "title": doc.title}


def _parts(index: Index, name: str, **update) -> tuple[dict, list[dict], np.ndarray, np.ndarray, str]:
    """One document's entry, chunks, vectors and text from an index, to carry into the next build."""
    rows = index.doc_rows(name)
    chunks_ = [dict(c) for c in index.chunks_of(name)]
    sentence_rows = [r for c in chunks_ for r in range(c["s0"], c["s0"] + len(c["sentences"]))]
    entry = {**index.documents[name], **update}
    if "title" not in entry:  # built before titles were kept
        entry["title"] = title(index.texts[name])
    return entry, chunks_, index.vectors[rows], index.sentence_vectors[sentence_rows], index.texts[name]


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
