"""Cold start of `citeqa ask` in a fresh process, and what dominates it.

    .venv/bin/python bench/cold_start.py                                   # seeds
    .venv/bin/python bench/cold_start.py --index bench/data/large-work/index --name large

Times --runs fresh `citeqa --quiet ask QUESTION --backend extractive` processes end to end (the
file cache is warm after the first). Then one fresh process does the same steps one by one with a
timer on each (the embedder works on its own thread, which a whole-process cProfile would not
see), with cProfile only around the index load to split it.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import summary, write

QUESTION = "What did FED propose?"
# Parts of the index load: (label, where to find it in the profile: file suffix, function name)
LOAD_PARTS = [
    ("  checksums of index files", ("app/checksums.py", "sha256_file")),
    ("  chunks.jsonl parsing", ("json/__init__.py", "loads")),
    ("  numpy .npy reads", ("numpy/lib/_npyio_impl.py", "load")),
    ("  faiss read_index", ("faiss/swigfaiss.py", "read_index")),
    ("  bm25s load", ("bm25s/__init__.py", "load")),
]


def citeqa() -> str:
    return str(Path(sys.executable).parent / "citeqa")


def child(index_dir: Path) -> None:
    parts, t = {}, time.perf_counter()
    import torch  # noqa: F401

    parts["import torch"], t = time.perf_counter() - t, time.perf_counter()
    import sentence_transformers  # noqa: F401

    parts["import sentence_transformers (after torch)"], t = time.perf_counter() - t, time.perf_counter()
    from app.assistant import Assistant
    from app.settings import Settings

    a = Assistant(Settings.from_env(index_dir=index_dir, backend="extractive"), progress=False)
    parts["import citeqa"], t = time.perf_counter() - t, time.perf_counter()
    profiler = cProfile.Profile()
    profiler.enable()
    a.ensure_index()
    profiler.disable()
    parts["index: staleness check and load"], t = time.perf_counter() - t, time.perf_counter()
    stats = pstats.Stats(profiler).stats
    for label, (suffix, name) in LOAD_PARTS:
        parts[label] = sum(v[3] for (file, _, func), v in stats.items() if file.endswith(suffix) and func == name)
    t = time.perf_counter()
    a.embedder.load()
    parts["embedding model load"], t = time.perf_counter() - t, time.perf_counter()
    a.ask(QUESTION)
    parts["first question (retrieve + answer)"] = time.perf_counter() - t
    print(json.dumps({k: round(v, 3) for k, v in parts.items()}))


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        return child(Path(sys.argv[2]))
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path)
    ap.add_argument("--name", default="seeds")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = (args.index or Path(tmp) / "index").resolve()
        env = {**os.environ, "CITEQA_INDEX_DIR": str(index_dir), "HF_HUB_OFFLINE": "1"}
        if args.index is None:
            subprocess.run([citeqa(), "--quiet", "index", "seeds"], env=env, check=True, stdout=subprocess.DEVNULL)
        walls = []
        for _ in range(args.runs + 1):
            t = time.perf_counter()
            subprocess.run([citeqa(), "--quiet", "ask", QUESTION, "--backend", "extractive"], env=env, check=True, stdout=subprocess.DEVNULL)
            walls.append(time.perf_counter() - t)
        out = subprocess.run([sys.executable, __file__, "--child", str(index_dir)], env=env, check=True, capture_output=True, text=True)
        parts = json.loads(out.stdout.strip().splitlines()[-1])
    walls = walls[1:]  # the first run warms the file cache
    print(f"{args.name}: `citeqa ask` (extractive) in a fresh process, {args.runs} runs: p50 {summary(walls)['p50']:.2f} s, max {max(walls):.2f} s")
    print(f"{'part (one fresh process, in order)':<44}{'s':>8}")
    for label, s in parts.items():
        print(f"{label:<44}{s:>8.2f}")
    write(f"cold_start-{args.name}", {"wall_s": summary(walls), "parts_s": parts})


if __name__ == "__main__":
    main()
