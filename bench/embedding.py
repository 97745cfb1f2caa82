"""Embedding: the ways a build's texts can be embedded, how fast and how far from float32; a question's
embedding; and what pooling sentence vectors from the chunk pass would do to them.

    .venv/bin/python bench/embedding.py        # writes bench/results/embedding.json

Texts are the seed index's chunks (about 180 cl100k tokens) and sentences, three times over, so
the lengths are real. Every way runs in this one process, one after the other (compare them side
by side, never across runs).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from app.embeddings import Embedder, model_path, native_bfloat16
from common import seed_index, summary, write


def sentence_transformers_way(dtype: str):
    """The build path before onnxruntime: one thread running torch on two."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path()), device="cpu")

    def encode(texts: list[str]) -> np.ndarray:
        torch.set_num_threads(2)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), 384), dtype=np.float32)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bfloat16"):
            out[order] = model.encode([texts[i] for i in order], batch_size=16, normalize_embeddings=True)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    return encode


def timed(encode, texts: list[str]) -> tuple[float, np.ndarray]:
    encode(texts[:32])
    t = time.perf_counter()
    vectors = encode(texts)
    return len(texts) / (time.perf_counter() - t), vectors


def pooled_from_chunks(index, embedder: Embedder) -> np.ndarray:
    """Cosine of each sentence's vector mean-pooled from its chunk's token states to its own vector."""
    model = embedder._onnx
    out = []
    for c in index.chunks:
        enc = model.tokenizer.encode(c["index_text"])
        ids = np.array([enc.ids])
        states = model.session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)})[0][0]
        at = 0
        for k, s in enumerate(c["sentences"]):
            start = c["index_text"].find(s[2], at)
            if start < 0:
                continue
            at = end = start + len(s[2])
            rows = [i for i, (a, b) in enumerate(enc.offsets) if not enc.special_tokens_mask[i] and a >= start and b <= end and b > a]
            if rows:
                v = states[rows].mean(0)
                out.append(float(v @ index.sentence_vectors[c["s0"] + k] / np.linalg.norm(v)))
    return np.array(out)


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index = seed_index(Path(tmp))
        texts = [c["index_text"] for c in index.chunks] + [s[2] for c in index.chunks for s in c["sentences"]]
        texts = texts * 3
        print(f"native bfloat16 on this CPU: {native_bfloat16()}; {len(texts)} texts (chunks and sentences)")
        ways = {
            "sentence-transformers float32, 1 thread x 2 torch threads": sentence_transformers_way("float32"),
            "sentence-transformers bfloat16, 1 thread x 2 torch threads (before)": sentence_transformers_way("bfloat16"),
            "onnxruntime float32, 2 threads (CITEQA_EMBED_PRECISION=float32)": Embedder(precision="float32").encode,
        }
        if native_bfloat16():
            ways["sentence-transformers bfloat16, 2 threads x 1 torch thread (auto here)"] = Embedder(precision="bfloat16").encode
        rows, reference = [], None
        print(f"{'way':<72}{'texts/s':>9}{'min cos vs float32':>20}")
        for name, encode in ways.items():
            rate, vectors = timed(encode, texts)
            reference = vectors if reference is None else reference
            drift = float((vectors * reference).sum(1).min())
            rows.append({"way": name, "texts_per_s": round(rate, 1), "min_cosine_vs_float32": round(drift, 6)})
            print(f"{name:<72}{rate:>9.1f}{drift:>20.6f}", flush=True)
        e = Embedder()
        e.encode(["warm up"])
        query_ms = []
        for q in ["What did FED propose?", "What is eWTP?", "Which members joined the Joint Statement Initiative on e-commerce?"] * 20:
            t = time.perf_counter()
            e.encode([q])
            query_ms.append((time.perf_counter() - t) * 1000)
        pooled = pooled_from_chunks(index, e)
        print(f"a question, onnxruntime: p50 {summary(query_ms)['p50']:.1f} ms")
        print(f"sentence vectors pooled from the chunk pass vs their own: median cosine {np.median(pooled):.3f}, "
              f"p10 {np.percentile(pooled, 10):.3f} ({len(pooled)} sentences)")
    write("embedding", {"native_bfloat16": native_bfloat16(), "rows": rows, "query_ms": summary(query_ms),
                        "pooled_from_chunks_cosine": {"median": round(float(np.median(pooled)), 3),
                                                      "p10": round(float(np.percentile(pooled, 10)), 3), "n": len(pooled)}})


if __name__ == "__main__":
    main()
