"""Retrieval and chunking settings compared with the evaluation harness (extractive backend).

    .venv/bin/python bench/tune.py        # prints a table, writes bench/results/tune.json
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from app.assistant import Assistant
from app.embeddings import Embedder
from app.evaluation import gold, report
from app.evaluation.score import evaluate
from app.settings import Settings

BASE = {"chunk_tokens": 180, "chunk_overlap": 40, "top_k": 5, "fusion": "convex", "dense_weight": 0.5}
TRIALS = [
    {},
    {"chunk_tokens": 100}, {"chunk_tokens": 128}, {"chunk_tokens": 256}, {"chunk_tokens": 350},
    {"chunk_overlap": 0}, {"chunk_overlap": 80},
    {"top_k": 3}, {"top_k": 8},
    {"fusion": "rrf"}, {"dense_weight": 0.3}, {"dense_weight": 0.7}, {"dense_weight": 1.0}, {"dense_weight": 0.0},
]
SHOWN = ["hit@1", "hit@5", "mrr@10", "evidence_coverage", "fact_accuracy", "token_f1", "abstention_recall", "pass_rate"]


def main() -> None:
    embedder = Embedder()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for trial in TRIALS:
            config = {**BASE, **trial}
            index_dir = Path(tmp) / f"c{config['chunk_tokens']}-o{config['chunk_overlap']}"
            a = Assistant(Settings(index_dir=index_dir, sources=[Path("seeds")], backend="extractive", **config), progress=False, embedder=embedder)
            results = evaluate(a, gold.load(Path("eval/seeds/gold.jsonl"), a.index.texts), backend="extractive", progress=False)
            metrics = {name: report.METRICS[name](results) for name in SHOWN}
            rows.append({"change": ", ".join(f"{k}={v}" for k, v in trial.items()) or "baseline", "chunks": len(a.index.chunks), **metrics})
            print(f"{rows[-1]['change']:<22}" + "".join(f"{metrics[n]:>8.3f}" for n in SHOWN), flush=True)
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/tune.json").write_text(json.dumps({"base": BASE, "rows": rows}, indent=1))


if __name__ == "__main__":
    print(f"{'change':<22}" + "".join(f"{n[:7]:>8}" for n in SHOWN))
    main()
