"""Load on a real `citeqa serve` at 127.0.0.1: many extractive questions, some LLM ones and some uploads at once.

    .venv/bin/python bench/load.py [--requests 2000] [--concurrency 32] [--llm 24] [--uploads 4]

Every extractive answer is checked (status, non-empty answer, every citation's text equal to the
document at its offsets); LLM requests may be answered or refused with 503 + Retry-After when the
generation queue is full, anything else counts as a failure. Each upload (a few thousand sentences,
one fact of its own) must be accepted, and then its fact answered from it. Extractive latency is
also reported for the questions asked while an upload was being indexed. Bounded: the run stops
after --max-seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import httpx

from common import pct, serve, write

QUESTIONS = ["What did FED propose?", "What is eWTP?", "Who chaired the WTO meetings?", "When was the ASEAN agreement concluded?",
             "How many WTO members participate in the e-commerce initiative?", "What did the Federal Reserve propose?"]


async def run(base: str, args) -> dict:
    async with httpx.AsyncClient(base_url=base, timeout=300) as client:
        docs = {d["doc"]: (await client.get(f"/api/documents/{d['doc']}")).json()["text"] for d in (await client.get("/api/documents")).json()}
        deadline = time.monotonic() + args.max_seconds
        ext_lat, llm_lat, failures, refused = [], [], [], 0
        during_upload: list[float] = []
        indexing = 0  # uploads in flight
        sem = asyncio.Semaphore(args.concurrency)

        async def text_of(doc: str) -> str:
            if doc not in docs:
                docs[doc] = (await client.get(f"/api/documents/{doc}")).json()["text"]
            return docs[doc]

        async def upload(j: int):
            nonlocal indexing
            await asyncio.sleep(j * args.upload_every)
            filler = " ".join(f"Quay {i} of the Brill archipelago handled {i * 7} crates of lumber." for i in range(3000))
            name = f"brill-{j}.txt"
            fact = f"The harbour master of Brill-{j} is Admiral Quist{j}."
            indexing += 1
            try:
                r = await client.post("/api/documents", files={"file": (name, f"# Brill {j}\n\n{fact}\n\n{filler}\n".encode(), "text/plain")})
            except httpx.HTTPError as e:
                failures.append(f"upload {name}: {e!r}")
                return
            finally:
                indexing -= 1
            if r.status_code != 201:
                failures.append(f"upload {name}: HTTP {r.status_code} {r.text[:100]}")
                return
            a = (await client.post("/api/ask", json={"question": f"Who is the harbour master of Brill-{j}?", "backend": "extractive"})).json()
            if f"Quist{j}" not in a.get("answer", "") or not any(c["doc"] == name for c in a.get("citations", [])):
                failures.append(f"upload {name}: its fact was not answered from it")

        async def one(i: int, backend: str):
            nonlocal refused
            if time.monotonic() > deadline:
                return
            async with sem:
                t = time.perf_counter()
                while_indexing = indexing > 0
                try:
                    r = await client.post("/api/ask", json={"question": QUESTIONS[i % len(QUESTIONS)], "backend": backend})
                except httpx.HTTPError as e:
                    failures.append(f"{backend}: {e!r}")
                    return
                ms = (time.perf_counter() - t) * 1000
            if backend != "extractive" and r.status_code == 503 and r.headers.get("retry-after"):
                refused += 1
                return
            if r.status_code != 200:
                failures.append(f"{backend}: HTTP {r.status_code} {r.text[:100]}")
                return
            a = r.json()
            spans_ok = [(await text_of(c["doc"]))[c["start"] : c["end"]] == c["text"] for c in a["citations"]]
            if not a["answer"] or not all(spans_ok):
                failures.append(f"{backend}: wrong answer object for {a['question']!r}")
                return
            (ext_lat if backend == "extractive" else llm_lat).append(ms)
            if backend == "extractive" and while_indexing:
                during_upload.append(ms)

        started = time.perf_counter()
        await asyncio.gather(*[one(i, "extractive") for i in range(args.requests)], *[one(i, "local") for i in range(args.llm)],
                             *[upload(j) for j in range(args.uploads)])
        wall = time.perf_counter() - started
    return {
        "extractive": {"requests": args.requests, "ok": len(ext_lat), "p50_ms": pct(ext_lat, 50), "p99_ms": pct(ext_lat, 99)},
        "extractive_during_uploads": {"ok": len(during_upload), "p50_ms": pct(during_upload, 50), "p95_ms": pct(during_upload, 95)},
        "uploads": args.uploads,
        "local": {"requests": args.llm, "ok": len(llm_lat), "refused_503": refused, "p50_ms": pct(llm_lat, 50), "p99_ms": pct(llm_lat, 99)},
        "concurrency": args.concurrency, "wall_s": round(wall, 1), "throughput_rps": round((len(ext_lat) + len(llm_lat)) / wall, 1),
        "failures": failures[:20], "failure_count": len(failures),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--llm", type=int, default=24)
    ap.add_argument("--uploads", type=int, default=4)
    ap.add_argument("--upload-every", type=float, default=5.0, help="seconds between the starts of two uploads")
    ap.add_argument("--max-seconds", type=float, default=600)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp) / "index", Path(tmp), sources="seeds") as (base, _):
        result = asyncio.run(run(base, args))
    print(json.dumps(result, indent=1))
    write("load", result)


if __name__ == "__main__":
    main()
