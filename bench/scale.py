"""Warm query latency per stage against collection size, exact (flat) and HNSW dense search.

    .venv/bin/python bench/scale.py [--index bench/data/large-work/index] [--sizes 86 1000 10000 30000 100000]

Sub-collections are the seeds plus the first generated documents of the 100k-chunk collection
(bench/corpus.py) up to each size; their vectors are reused from its index (bench/build.py --keep),
so nothing is embedded again. Each size is indexed with CITEQA_FAISS_INDEX=flat and =hnsw and asked
the gold questions in-process (extractive backend) --repeat times after a warm-up pass.
bench/plot.py draws the result.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from app import ingest
from app.assistant import Assistant
from app.embeddings import Embedder
from app.index import Index
from app.settings import Settings
from app.stores.folder import FolderStore
from common import STAGES, gold_questions, stage_latencies, write


def sub_collection(large: Index, collection: Path, size: int, folder: Path) -> int:
    """Hard links to the seeds and the first generated documents, up to `size` chunks."""
    folder.mkdir(parents=True)
    docs = sorted(large.documents, key=lambda name: (name.startswith("gen_"), name))
    chunks = 0
    for name in docs:
        if chunks >= size:
            break
        os.link(collection / name, folder / name)  # same size and mtime: the vectors are reused
        chunks += large.documents[name]["chunks"]
    return chunks


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path("bench/data/large-work/index"))
    ap.add_argument("--sizes", type=int, nargs="+", default=[86, 1_000, 10_000, 30_000, 100_000])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    large = FolderStore(args.index).open()
    collection = Path(large.manifest["sources"][0])
    embedder = Embedder()
    questions = gold_questions()
    rows = []
    print(f"{'chunks':>8} {'dense':<6}" + "".join(f"{s + ' p50':>18}" for s in STAGES))
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "collection"
            sub_collection(large, collection, size, folder)
            for kind in ("flat", "hnsw"):
                settings = Settings.from_env(index_dir=Path(tmp) / kind, sources=[folder], backend="extractive", faiss_index=kind)
                build, report = ingest.build([folder.resolve()], embedder, settings, previous=large, progress=False)
                assert not report.embedded, "sub-collections must reuse the large index's vectors"
                index = FolderStore(settings.index_dir).publish(build, report.stages)
                a = Assistant(settings, embedder=embedder, progress=False)
                a.ensure_index()
                row = {"chunks": len(index.chunks), "dense": kind, "latency_ms": stage_latencies(a, questions, args.repeat)}
                rows.append(row)
                print(f"{row['chunks']:>8} {kind:<6}" + "".join(f"{row['latency_ms'][s]['p50']:>18.2f}" for s in STAGES), flush=True)
    write("scale", {"questions": len(questions), "repeat": args.repeat, "rows": rows})


if __name__ == "__main__":
    main()
