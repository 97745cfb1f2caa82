"""Latency against collection size, from bench/results/scale.json and bench/results/faiss_types.json.

    .venv/bin/python bench/plot.py        # writes bench/results/latency_vs_size.png
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RESULTS = Path("bench/results")
STAGES = [("total", "total (extractive answer)"), ("embed_query", "query embedding"), ("answer", "answer (sentence choice)"),
          ("bm25", "BM25"), ("dense_search", "dense search"), ("fusion", "fusion")]


def main() -> None:
    scale = json.loads((RESULTS / "scale.json").read_text())["rows"]
    faiss_rows = json.loads((RESULTS / "faiss_types.json").read_text())["rows"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2))

    for kind, style in (("flat", "-"), ("hnsw", "--")):
        rows = sorted((r for r in scale if r["dense"] == kind), key=lambda r: r["chunks"])
        n = [r["chunks"] for r in rows]
        for i, (stage, label) in enumerate(STAGES):
            if kind == "hnsw" and stage not in ("total", "dense_search"):
                continue  # the other stages do not depend on the dense index
            left.plot(n, [r["latency_ms"][stage]["p50"] for r in rows], style, marker="o", color=f"C{i}",
                      label=f"{label}" + (" (HNSW)" if kind == "hnsw" else ""))
    left.set(xscale="log", yscale="log", xlabel="chunks in the collection", ylabel="p50 latency, ms (warm, in-process)",
             title="Query latency by stage (bench/scale.py)")
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8)

    best = {}
    for r in faiss_rows:
        best.setdefault((r["type"], r["param"]), []).append(r)
    for i, ((kind, param), rows) in enumerate(sorted(best.items())):
        rows.sort(key=lambda r: r["n"])
        right.plot([r["n"] for r in rows], [r["latency_ms_1_thread"]["p50"] for r in rows], marker="o", color=f"C{i}",
                   label=f"{kind} {param} (recall@10 at 10k/100k/1M: " + "/".join(f"{r['recall@10']:.2f}" for r in rows) + ")")
    right.set(xscale="log", yscale="log", xlabel="vectors", ylabel="p50 ms per query, 1 thread",
              title="FAISS index types, single query (bench/faiss_types.py)")
    right.grid(True, which="both", alpha=0.3)
    right.legend(fontsize=8)

    fig.suptitle("citeqa on 2 CPU cores: latency vs collection size", fontsize=12)
    fig.tight_layout()
    out = RESULTS / "latency_vs_size.png"
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    main()
