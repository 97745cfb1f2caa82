"""Embedding throughput: float32 vs bfloat16, batch sizes, and how far bfloat16 vectors drift.

    .venv/bin/python bench/embedding.py        # writes bench/results/embedding.json

Texts are the seed index's chunks (about 180 cl100k tokens) and sentences, so the lengths are real.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from app.embeddings import Embedder, native_bfloat16
from common import seed_index, write


def throughput(embedder: Embedder, texts: list[str]) -> tuple[float, np.ndarray]:
    t = time.perf_counter()
    vectors = embedder.encode(texts)
    return len(texts) / (time.perf_counter() - t), vectors


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index = seed_index(Path(tmp))
    chunks = [c["index_text"] for c in index.chunks]
    sentences = [s[2] for c in index.chunks for s in c["sentences"]]
    print(f"native bfloat16 on this CPU: {native_bfloat16()}; {len(chunks)} chunks, {len(sentences)} sentences")
    print(f"{'precision':<10}{'batch':>6}{'chunks/s':>10}{'sentences/s':>13}{'min cos vs fp32':>17}")
    rows, reference = [], None
    for precision in ("float32", "bfloat16"):
        for batch in (8, 16, 32):
            e = Embedder(threads=2, batch_size=batch, precision=precision)
            e.encode(["warm up"])
            c_rate, c_vec = throughput(e, chunks)
            s_rate, s_vec = throughput(e, sentences)
            vec = np.concatenate([c_vec, s_vec])
            if reference is None:
                reference = vec
            drift = float((vec * reference).sum(1).min())
            rows.append({"precision": precision, "batch_size": batch, "chunks_per_s": round(c_rate, 1),
                         "sentences_per_s": round(s_rate, 1), "min_cosine_vs_float32": round(drift, 6)})
            print(f"{precision:<10}{batch:>6}{c_rate:>10.1f}{s_rate:>13.1f}{drift:>17.6f}", flush=True)
    write("embedding", {"native_bfloat16": native_bfloat16(), "rows": rows})


if __name__ == "__main__":
    main()
