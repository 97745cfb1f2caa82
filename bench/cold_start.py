"""Cold start: `citeqa ask` in a fresh process, and `citeqa serve` until its first answer.

    .venv/bin/python bench/cold_start.py                                   # seeds
    .venv/bin/python bench/cold_start.py --index bench/data/large-work/index --name large

Times --runs fresh `citeqa --quiet ask QUESTION --backend extractive` processes end to end (the
file cache is warm after the first). Then one fresh process does the same steps one by one with a
timer on each (the embedder works on its own thread, which a whole-process cProfile would not
see), with cProfile only around the index load to split it. Then --runs fresh `citeqa serve`
processes (default backend local): seconds from start until the first extractive answer over
HTTP, and until /api/health says the local model is ready.
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

import httpx
from common import free_port, summary, write

QUESTION = "What did FED propose?"
HEAVY = ("torch", "sentence_transformers", "transformers", "llama_cpp")
# Parts of the index load: (label, where to find it in the profile: file suffix, function name)
LOAD_PARTS = [
    ("  file stamps and manifest", ("app/stores/folder.py", "verify_files")),
    ("  numpy .npy reads", ("numpy/lib/_npyio_impl.py", "load")),
    ("  faiss read_index", ("faiss/swigfaiss.py", "read_index")),
    ("  bm25s load", ("bm25s/__init__.py", "load")),
]


def citeqa() -> str:
    return str(Path(sys.executable).parent / "citeqa")


def child(index_dir: Path) -> None:
    parts, t = {}, time.perf_counter()
    from app.assistant import Assistant
    from app.settings import Settings

    a = Assistant(Settings.from_env(index_dir=index_dir, backend="extractive"), progress=False)
    parts["import citeqa"], t = time.perf_counter() - t, time.perf_counter()
    profiler = cProfile.Profile()
    profiler.enable()
    a.ensure_index()
    profiler.disable()
    parts["index: staleness check and open"], t = time.perf_counter() - t, time.perf_counter()
    stats = pstats.Stats(profiler).stats
    for label, (suffix, name) in LOAD_PARTS:
        parts[label] = sum(v[3] for (file, _, func), v in stats.items() if file.endswith(suffix) and func == name)
    t = time.perf_counter()
    a.embedder.load()
    parts["embedding model load (onnxruntime)"], t = time.perf_counter() - t, time.perf_counter()
    a.ask(QUESTION)
    parts["first question (retrieve + answer)"] = time.perf_counter() - t
    parts["heavy modules imported"] = [m for m in HEAVY if m in sys.modules]
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in parts.items()}))


def serve_once(env: dict, workdir: Path) -> dict[str, float]:
    """One fresh `citeqa serve`: seconds to its first extractive answer, and to the local model ready."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    t = time.perf_counter()
    log = open(workdir / "serve.log", "wb")
    server = subprocess.Popen([citeqa(), "--quiet", "serve", "--port", str(port)], env={**env, "CITEQA_UPLOAD_DIR": str(workdir / "up")},
                              stdout=log, stderr=log)
    try:
        while True:
            if server.poll() is not None:
                sys.exit(f"citeqa serve exited with {server.returncode}; see {workdir / 'serve.log'}")
            try:
                r = httpx.post(f"{base}/api/ask", json={"question": QUESTION, "backend": "extractive"}, timeout=30)
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        first = time.perf_counter() - t
        while httpx.get(f"{base}/api/health", timeout=30).json()["backends"]["local"] != "ready":
            time.sleep(0.1)
        return {"first_extractive_answer_s": first, "local_model_ready_s": time.perf_counter() - t}
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


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
        serves = [serve_once(env, Path(tmp)) for _ in range(args.runs)]
    walls = walls[1:]  # the first run warms the file cache
    print(f"{args.name}: `citeqa ask` (extractive) in a fresh process, {args.runs} runs: p50 {summary(walls)['p50']:.2f} s, max {max(walls):.2f} s")
    print(f"{'part (one fresh process, in order)':<44}{'s':>8}")
    for label, s in parts.items():
        print(f"{label:<44}{s:>8.2f}" if isinstance(s, float) else f"{label:<44}{s!s:>8}")
    serve = {k: summary([r[k] for r in serves]) for k in serves[0]}
    print(f"`citeqa serve`, {args.runs} starts: first extractive answer p50 {serve['first_extractive_answer_s']['p50']:.2f} s, "
          f"local model ready p50 {serve['local_model_ready_s']['p50']:.2f} s")
    write(f"cold_start-{args.name}", {"wall_s": summary(walls), "parts_s": parts, "serve_s": serve})


if __name__ == "__main__":
    main()
