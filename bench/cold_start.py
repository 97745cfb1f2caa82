"""Cold start of `citeqa ask` in a fresh process, and what dominates it.

    .venv/bin/python bench/cold_start.py                                   # seeds
    .venv/bin/python bench/cold_start.py --index bench/data/large-work/index --name large

Times --runs fresh `citeqa --quiet ask QUESTION --backend extractive` processes end to end (the
file cache is warm after the first), then profiles one with cProfile and reports the cumulative
time of the parts that matter. Profiling inflates Python-heavy parts; the wall times are unprofiled.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import summary, write

QUESTION = "What did FED propose?"
# (label, how to find it in the profile: file suffix, function name)
PARTS = [
    ("import torch", ("torch/__init__.py", "<module>")),
    ("import sentence_transformers", ("sentence_transformers/__init__.py", "<module>")),
    ("index load (all of it)", ("app/index.py", "load")),
    ("  checksums of index files", ("app/checksums.py", "sha256_file")),
    ("  chunks.jsonl parsing", ("json/__init__.py", "loads")),
    ("  numpy .npy reads", ("numpy/lib/_npyio_impl.py", "load")),
    ("  faiss read_index", ("faiss/swigfaiss.py", "read_index")),
    ("  bm25s load", ("bm25s/__init__.py", "load")),
    ("embedding model load", ("app/embeddings.py", "_model")),
    ("retrieval (one question)", ("app/assistant.py", "retrieve")),
]


def citeqa() -> str:
    return str(Path(sys.executable).parent / "citeqa")


def profile(env: dict, out: Path) -> dict[str, float]:
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), citeqa(), "--quiet", "ask", QUESTION, "--backend", "extractive"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    stats = pstats.Stats(str(out)).stats
    found = {}
    for label, (suffix, name) in PARTS:
        cumulative = [v[3] for (file, _, func), v in stats.items() if file.endswith(suffix) and func == name]
        found[label] = round(sum(cumulative), 3) if cumulative else None
    found["whole process (profiled)"] = round(max(v[3] for v in stats.values()), 3)
    return found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path)
    ap.add_argument("--name", default="seeds")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = args.index or Path(tmp) / "index"
        env = {**os.environ, "CITEQA_INDEX_DIR": str(index_dir.resolve()), "HF_HUB_OFFLINE": "1"}
        if args.index is None:
            subprocess.run([citeqa(), "--quiet", "index", "seeds"], env=env, check=True, stdout=subprocess.DEVNULL)
        walls = []
        for _ in range(args.runs + 1):
            t = time.perf_counter()
            subprocess.run([citeqa(), "--quiet", "ask", QUESTION, "--backend", "extractive"], env=env, check=True, stdout=subprocess.DEVNULL)
            walls.append(time.perf_counter() - t)
        parts = profile(env, Path(tmp) / "profile.out")
    walls = walls[1:]  # the first run warms the file cache
    print(f"{args.name}: `citeqa ask` (extractive) in a fresh process, {args.runs} runs: p50 {summary(walls)['p50']:.2f} s, max {max(walls):.2f} s")
    print(f"{'part (cProfile, cumulative)':<34}{'s':>8}")
    for label, s in parts.items():
        print(f"{label:<34}{'-' if s is None else f'{s:.2f}':>8}")
    write(f"cold_start-{args.name}", {"wall_s": summary(walls), "profile_s": parts})


if __name__ == "__main__":
    main()
