"""FAISS index types by collection size: build time, memory, single-query latency (1 vs 2 threads), recall@10.

    .venv/bin/python bench/faiss_types.py [--sizes 10000 100000 1000000] [--queries 200]

Vectors are synthetic but shaped like sentence embeddings (384-d, unit length, drawn around 2,000
topic centres), since embedding 1M real chunks takes hours on 2 cores. Recall is against exact
inner-product search on the same vectors.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import faiss
import numpy as np

DIM = 384


def vectors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((2000, DIM)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def build(kind: str, data: np.ndarray):
    n = len(data)
    if kind == "flat":
        index = faiss.IndexFlatIP(DIM)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
    else:
        nlist = int(4 * np.sqrt(n))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(data[: min(n, 50 * nlist)])
    index.add(data)
    if kind == "hnsw":
        index.hnsw.efSearch = 64
    if kind == "ivf":
        index.nprobe = 16
    return index


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    rows = []
    print(f"{'n':>9} {'type':<5} {'build s':>8} {'MB':>7} {'p50 ms 1t':>10} {'p95 ms 1t':>10} {'p50 ms 2t':>10} {'recall@10':>10}")
    for n in args.sizes:
        data = vectors(n, 0)
        queries = vectors(args.queries, 1)
        exact = None
        for kind in ("flat", "hnsw", "ivf"):
            faiss.omp_set_num_threads(2)
            t = time.perf_counter()
            index = build(kind, data)
            build_s = time.perf_counter() - t
            size_mb = len(faiss.serialize_index(index)) / 1e6
            latency = {}
            for threads in (1, 2):
                faiss.omp_set_num_threads(threads)
                times, found = [], []
                for q in queries:
                    t = time.perf_counter()
                    _, ids = index.search(q.reshape(1, -1), 10)
                    times.append((time.perf_counter() - t) * 1000)
                    found.append(ids[0])
                latency[threads] = (float(np.percentile(times, 50)), float(np.percentile(times, 95)))
            if kind == "flat":
                exact = found
            recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact)]))
            row = {"n": n, "type": kind, "build_s": round(build_s, 2), "size_mb": round(size_mb, 1),
                   "p50_ms_1t": round(latency[1][0], 3), "p95_ms_1t": round(latency[1][1], 3), "p50_ms_2t": round(latency[2][0], 3), "recall@10": round(recall, 3)}
            rows.append(row)
            print(f"{n:>9} {kind:<5} {build_s:>8.2f} {size_mb:>7.1f} {latency[1][0]:>10.3f} {latency[1][1]:>10.3f} {latency[2][0]:>10.3f} {recall:>10.3f}", flush=True)
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/faiss_types.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
