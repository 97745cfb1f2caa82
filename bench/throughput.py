"""Requests per second under load on a real `citeqa serve`: retrieval only (GET /api/search) and
extractive answers (POST /api/ask), at concurrency 1, 8 and 32.

    .venv/bin/python bench/throughput.py                                  # seeds
    .venv/bin/python bench/throughput.py --index bench/data/large-work/index --name large

Each level sends --requests requests (the gold questions in turn) from --concurrency clients at once
and checks each response (status 200, passages or an answer). The server is one uvicorn process on
these two cores; the load generator shares them, as a browser on the same laptop would.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from common import gold_questions, seed_index, serve, summary, write


async def level(base: str, kind: str, concurrency: int, requests: int, questions: list[str]) -> dict:
    latencies, failures = [], 0
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as client:

        async def one(i: int) -> None:
            nonlocal failures
            q = questions[i % len(questions)]
            async with sem:
                t = time.perf_counter()
                try:
                    if kind == "search":
                        r = await client.get("/api/search", params={"q": q})
                        ok = r.status_code == 200 and bool(r.json()["passages"])
                    else:
                        r = await client.post("/api/ask", json={"question": q})
                        ok = r.status_code == 200 and bool(r.json()["answer"])
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - t) * 1000)
            failures += not ok

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(requests)))
        wall = time.perf_counter() - started
    return {"kind": kind, "concurrency": concurrency, "requests": requests, "failures": failures,
            "requests_per_s": round(requests / wall, 1), "latency_ms": summary(latencies)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path)
    ap.add_argument("--name", default="seeds")
    ap.add_argument("--requests", type=int, default=400)
    args = ap.parse_args()
    questions = gold_questions()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = args.index or Path(tmp) / "index"
        if args.index is None:
            seed_index(index_dir)
        with serve(index_dir, Path(tmp), backend="extractive") as (base, _):
            asyncio.run(level(base, "answer", 4, 40, questions))  # warm up
            print(f"{args.name}: {'kind':<8}{'conc':>5}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'failed':>8}")
            for kind in ("search", "answer"):
                for concurrency in (1, 8, 32):
                    row = asyncio.run(level(base, kind, concurrency, args.requests, questions))
                    rows.append(row)
                    lat = row["latency_ms"]
                    print(f"{'':<{len(args.name) + 2}}{kind:<8}{concurrency:>5}{row['requests_per_s']:>8.1f}{lat['p50']:>9.1f}{lat['p95']:>9.1f}{lat['p99']:>9.1f}{row['failures']:>8}", flush=True)
    write(f"throughput-{args.name}", {"rows": rows})


if __name__ == "__main__":
    main()
