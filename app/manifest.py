"""A build's manifest and the staleness rules: whether an index can be reused, and whether it is current.

The manifest records what a build was made from and how: format, embedding model, chunking
settings, dense index kind, the collection's sources (sources.py), every document's sha256 and
stamp. Every store keeps one per build.
"""

from __future__ import annotations

from pathlib import Path

from .checksums import sha256_file
from .documents import IngestError, discover, stamp
from .embeddings import Embedder
from .settings import Settings
from .sources import under

FORMAT_VERSION = 3  # 2: chunks and texts read lazily (stores/lazy.py), files stamped with size and mtime;
# 3: chunk vectors made from their sentences' (ingest.chunk_vectors)

# Chosen by bench/faiss_types.py (real MiniLM vectors, one thread, p50 of a single query):
# exact search takes 0.3 ms at 10k, 7 ms at 100k, 68 ms at 1M; HNSW (M=32, efSearch=256) 1.1 ms at
# 100k and 1M with recall@10 0.94 and 0.90 of exact. Below 200k chunks exact costs no more than
# embedding the question (8 ms) and loses nothing; above it HNSW.
FLAT_LIMIT = 200_000


def dense_kind(setting: str, n: int) -> str:
    """The dense index for n chunks under CITEQA_FAISS_INDEX=setting: "flat" (exact) or "hnsw"."""
    if setting == "auto":
        return "flat" if n < FLAT_LIMIT else "hnsw"
    return setting


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
    documents = {name: d for name, d in manifest["documents"].items() if not any(under(d["path"], root) for root in gone)}
    if {name for _, name in files} != set(documents):
        return False
    for path, name in files:
        doc = documents[name]
        if (doc["size"], doc["mtime_ns"]) != stamp(path) and doc["sha256"] != sha256_file(path):
            return False
    return True
