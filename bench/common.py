"""What the benchmarks share: percentiles, the gold questions, a real `citeqa serve`, result files."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

RESULTS = Path("bench/results")
STAGES = ("embed_query", "dense_search", "bm25", "fusion", "answer", "total")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] if values else float("nan")


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": round(pct(values, 50), 3), "p95": round(pct(values, 95), 3), "p99": round(pct(values, 99), 3),
            "mean": round(sum(values) / len(values), 3) if values else float("nan"), "n": len(values)}


def gold_questions(path: Path = Path("eval/seeds/gold.jsonl")) -> list[str]:
    """The gold set's first-turn questions: realistic lengths and vocabulary."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows if not r.get("history")]


def write(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=1))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(index_dir: Path, workdir: Path, **settings):
    """A real `citeqa serve` on 127.0.0.1 over `index_dir`; yields (base URL, process) once healthy."""
    port = free_port()
    env = {**os.environ, "CITEQA_INDEX_DIR": str(index_dir), "CITEQA_UPLOAD_DIR": str(workdir / "uploads"), "HF_HUB_OFFLINE": "1",
           **{f"CITEQA_{k.upper()}": str(v) for k, v in settings.items()}}
    log = open(workdir / "server.log", "wb")
    server = subprocess.Popen([str(Path(sys.executable).parent / "citeqa"), "--quiet", "serve", "--port", str(port)],
                              env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            if server.poll() is not None:
                sys.exit(f"citeqa serve exited with {server.returncode}; see {workdir / 'server.log'}")
            try:
                if httpx.get(f"{base}/api/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                sys.exit("citeqa serve did not become healthy in 600 s")
            time.sleep(0.5)
        yield base, server
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


def memory_mb(pid: int) -> dict[str, float]:
    """A process's resident memory now and at its peak (Linux /proc)."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {"rss_mb": round(int(status["VmRSS"].split()[0]) / 1024), "peak_rss_mb": round(int(status["VmHWM"].split()[0]) / 1024)}


def seed_index(index_dir: Path):
    """The index of seeds/, built in `index_dir` (extractive settings, no LLM loaded)."""
    from app.assistant import Assistant
    from app.settings import Settings

    return Assistant(Settings(index_dir=index_dir, sources=[Path("seeds")], backend="extractive"), progress=False).ensure_index()


def stage_latencies(assistant, questions: list[str], repeat: int) -> dict[str, dict[str, float]]:
    """Warm per-stage latency of extractive answers: one pass to warm up, then `repeat` timed passes."""
    for q in questions:
        assistant.ask(q)
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    for _ in range(repeat):
        for q in questions:
            for stage, ms in assistant.ask(q).timings_ms.items():
                if stage in stages:
                    stages[stage].append(ms)
    return {s: summary(v) for s, v in stages.items()}
