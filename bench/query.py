"""Warm query latency per stage, in-process and over HTTP, for one index.

    .venv/bin/python bench/query.py                                     # seeds (built in a temp folder)
    .venv/bin/python bench/query.py --index bench/data/large-work/index --name large   # the 100k-chunk index

In-process: Assistant.ask with the extractive backend, p50/p95/p99 of each stage (query embedding,
dense search, BM25, fusion, answer, total). Over HTTP: a real `citeqa serve` on 127.0.0.1, one
request at a time, GET /api/search (retrieval only) and POST /api/ask, timed at the client, with
the stages of each /api/ask as the server timed them.
Questions: the gold set's first-turn questions, --repeat times each, after one warm-up pass.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx

from app.assistant import Assistant
from app.settings import Settings
from common import STAGES, gold_questions, memory_mb, seed_index, serve, stage_latencies, summary, write


def in_process(index_dir: Path, questions: list[str], repeat: int) -> tuple[dict, int]:
    a = Assistant(Settings.from_env(index_dir=index_dir, backend="extractive"), progress=False)
    index = a.ensure_index()
    return stage_latencies(a, questions, repeat), len(index.chunks)


def over_http(index_dir: Path, questions: list[str], repeat: int) -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory() as tmp, serve(index_dir, Path(tmp), backend="extractive") as (base, server):
        with httpx.Client(base_url=base, timeout=120) as client:
            for q in questions:
                client.post("/api/ask", json={"question": q})
            search, ask, inside = [], [], {s: [] for s in STAGES}
            for _ in range(repeat):
                for q in questions:
                    t = time.perf_counter()
                    client.get("/api/search", params={"q": q}).raise_for_status()
                    search.append((time.perf_counter() - t) * 1000)
                    t = time.perf_counter()
                    r = client.post("/api/ask", json={"question": q})
                    ask.append((time.perf_counter() - t) * 1000)
                    r.raise_for_status()
                    for stage, ms in r.json()["timings_ms"].items():
                        if stage in inside:
                            inside[stage].append(ms)
            memory = memory_mb(server.pid)
    timed = {"GET /api/search": summary(search), "POST /api/ask": summary(ask)}
    return timed | {f"  server: {stage}": summary(v) for stage, v in inside.items()}, memory


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, help="an index folder (default: build seeds/ in a temp folder)")
    ap.add_argument("--name", default="seeds")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    questions = gold_questions()
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = args.index or Path(tmp) / "index"
        if args.index is None:
            seed_index(index_dir)
        local, chunks = in_process(index_dir, questions, args.repeat)
        http, memory = over_http(index_dir, questions, args.repeat)
    print(f"{args.name}: {chunks} chunks, {len(questions)} questions x {args.repeat}, warm, one at a time")
    print(f"{'in-process stage':<30}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for stage, s in local.items():
        print(f"{stage:<30}{s['p50']:>9.2f}{s['p95']:>9.2f}{s['p99']:>9.2f}")
    print(f"{'over HTTP (client-timed)':<30}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for what, s in http.items():
        print(f"{what:<30}{s['p50']:>9.2f}{s['p95']:>9.2f}{s['p99']:>9.2f}")
    print(f"server memory after the run: {memory['rss_mb']} MB resident, peak {memory['peak_rss_mb']} MB")
    write(f"query-{args.name}", {"chunks": chunks, "questions": len(questions), "repeat": args.repeat, "in_process_ms": local, "http_ms": http, "server_memory": memory})


if __name__ == "__main__":
    main()
