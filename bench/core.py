"""Index build time for seeds/ and warm per-stage query latency. Prints a table, writes JSON.

    .venv/bin/python bench/core.py [--repeat 20] [--out bench/results/core.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from app.assistant import Assistant
from app.settings import Settings

QUESTIONS = [
    "What did FED propose?",
    "Who chaired the WTO meetings?",
    "What is eWTP?",
    "When was the Beijing conference on CBEC?",
    "What does ACCEC do?",
    "How many WTO members take part in the e-commerce initiative?",
    "What are the recommendations on payment solutions?",
    "What did the Federal Reserve propose?",
]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--out", type=Path, default=Path("bench/results/core.json"))
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index_dir=Path(tmp) / "index", sources=[Path("seeds")], backend="extractive")
        t = time.perf_counter()
        a = Assistant(settings, progress=False)
        a.embedder.encode(["warm up"])
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        a.ensure_index()
        build_s = time.perf_counter() - t
        stages: dict[str, list[float]] = {}
        for _ in range(args.repeat):
            for q in QUESTIONS:
                for stage, ms in a.ask(q).timings_ms.items():
                    stages.setdefault(stage, []).append(ms)

    result = {
        "model_load_s": round(load_s, 2),
        "index_build_s": round(build_s, 2),
        "chunks": len(a.index.chunks),
        "queries": args.repeat * len(QUESTIONS),
        "latency_ms": {s: {"p50": round(pct(v, 50), 2), "p95": round(pct(v, 95), 2), "mean": round(statistics.mean(v), 2)} for s, v in stages.items()},
    }
    print(f"embedding model load: {load_s:.2f} s   index build (seeds, {result['chunks']} chunks): {build_s:.2f} s")
    print(f"{'stage':<14}{'p50 ms':>10}{'p95 ms':>10}")
    for s, v in result["latency_ms"].items():
        print(f"{s:<14}{v['p50']:>10.2f}{v['p95']:>10.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
