"""FAISS index types by collection size: build time, memory, single-query latency (1 and 2 threads), recall@10.

    .venv/bin/python bench/faiss_types.py [--index bench/data/large-work/index] [--sizes 10000 100000 1000000]

Vectors are real: the chunk vectors of the 100k-chunk index (bench/corpus.py, bench/build.py).
10k is a random subset; 1M adds 900k vectors made by mixing two random real vectors
(normalise(w*a + (1-w)*b), w uniform in 0.55-0.95), which keeps the set on the embeddings' own
manifold without a billion-token corpus. Queries are 300 sentence vectors of the same index
(texts are held out of nothing, but sentences are not chunks). Recall@10 is against exact inner
product on the same vectors; candidates for fusion are the top 30, so recall@30 is shown too.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import faiss
import numpy as np

from common import summary, write

DIM = 384


def dataset(chunk_vectors: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    if n <= len(chunk_vectors):
        return np.ascontiguousarray(chunk_vectors[rng.choice(len(chunk_vectors), n, replace=False)])
    extra = n - len(chunk_vectors)
    a = chunk_vectors[rng.integers(0, len(chunk_vectors), extra)]
    b = chunk_vectors[rng.integers(0, len(chunk_vectors), extra)]
    w = rng.uniform(0.55, 0.95, (extra, 1)).astype(np.float32)
    mixed = w * a + (1 - w) * b
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    return np.ascontiguousarray(np.concatenate([chunk_vectors, mixed]), dtype=np.float32)


def build(kind: str, data: np.ndarray):
    n = len(data)
    if kind == "flat":
        index = faiss.IndexFlatIP(DIM)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 40
    else:
        nlist = int(4 * np.sqrt(n))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(data[np.random.default_rng(1).choice(n, min(n, 40 * nlist), replace=False)])
    index.add(data)
    return index


def search_params(kind: str) -> list[tuple[str, int]]:
    return {"flat": [("", 0)], "hnsw": [("efSearch", 64), ("efSearch", 128), ("efSearch", 256)], "ivf": [("nprobe", 16), ("nprobe", 64)]}[kind]


def measure(index, queries: np.ndarray, threads: int) -> tuple[list[float], np.ndarray]:
    faiss.omp_set_num_threads(threads)
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        _, ids = index.search(q.reshape(1, -1), 30)
        times.append((time.perf_counter() - t) * 1000)
        found.append(ids[0])
    return times, np.array(found)


def recall(found: np.ndarray, exact: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(f[:k]) & set(e[:k])) / k for f, e in zip(found, exact)]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path("bench/data/large-work/index"))
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args()
    build_dir = (args.index / "current").resolve()
    chunk_vectors = np.load(build_dir / "vectors.npy")
    sentence_vectors = np.load(build_dir / "sentence_vectors.npy", mmap_mode="r")
    rng = np.random.default_rng(0)
    queries = np.ascontiguousarray(sentence_vectors[np.sort(rng.choice(len(sentence_vectors), args.queries, replace=False))], dtype=np.float32)
    rows = []
    print(f"{'n':>9} {'type':<5} {'param':<13} {'build s':>8} {'MB':>7} {'p50 ms 1t':>10} {'p99 ms 1t':>10} {'p50 ms 2t':>10} {'recall@10':>10} {'recall@30':>10}")
    for n in args.sizes:
        data = dataset(chunk_vectors, n, rng)
        exact = None
        for kind in ("flat", "hnsw", "ivf"):
            faiss.omp_set_num_threads(2)  # building uses both cores
            t = time.perf_counter()
            index = build(kind, data)
            build_s = time.perf_counter() - t
            size_mb = len(faiss.serialize_index(index)) / 1e6
            for param, value in search_params(kind):
                if param == "efSearch":
                    index.hnsw.efSearch = value
                elif param == "nprobe":
                    index.nprobe = value
                one, found = measure(index, queries, 1)
                two, _ = measure(index, queries, 2)
                if kind == "flat":
                    exact = found
                r10, r30 = recall(found, exact, 10), recall(found, exact, 30)
                label = f"{param}={value}" if param else "exact"
                row = {"n": n, "type": kind, "param": label, "build_s": round(build_s, 2), "size_mb": round(size_mb, 1),
                       "latency_ms_1_thread": summary(one), "latency_ms_2_threads": summary(two), "recall@10": round(r10, 4), "recall@30": round(r30, 4)}
                rows.append(row)
                print(f"{n:>9} {kind:<5} {label:<13} {build_s:>8.1f} {size_mb:>7.0f} {row['latency_ms_1_thread']['p50']:>10.3f} "
                      f"{row['latency_ms_1_thread']['p99']:>10.3f} {row['latency_ms_2_threads']['p50']:>10.3f} {r10:>10.3f} {r30:>10.3f}", flush=True)
            del index
    write("faiss_types", {"queries": args.queries, "rows": rows})


if __name__ == "__main__":
    main()
