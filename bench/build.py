"""Index build: wall time, chunks/s, time per stage and peak memory; then an unchanged re-index and
an incremental re-index after one document changes.

    .venv/bin/python bench/build.py seeds                       # the seed collection
    .venv/bin/python bench/build.py bench/data/large --keep bench/data/large-work   # after bench/corpus.py

chunks/s is chunks indexed per second of embedding (their sentences and headings are what is embedded). Each build runs in a fresh process (as `citeqa index` does, embedding model load included), so
peak memory is that process's maximum resident set. Results go to bench/results/build-<name>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(source: Path, index_dir: Path) -> None:
    from app.assistant import Assistant
    from app.settings import Settings

    # What `citeqa index` does: nothing when nothing changed, else an incremental build.
    t = time.perf_counter()
    r = Assistant(Settings.from_env(index_dir=index_dir, sources=[source])).update_index()
    if r is None:
        print(json.dumps({"documents": None, "chunks": None, "embedded": 0, "seconds": time.perf_counter() - t, "stages": {}}))
        return
    print(json.dumps({"documents": r.documents, "chunks": r.chunks, "embedded": len(r.embedded), "seconds": r.seconds, "stages": r.stages}))


def run(source: Path, index_dir: Path) -> dict:
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(source), str(index_dir)], stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        sys.exit(f"the build of {source} failed (status {status})")
    result = json.loads(out.decode().strip().splitlines()[-1])
    result["process_wall_s"] = wall  # includes Python start-up and imports
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    return result


def show(label: str, r: dict) -> None:
    stages = "  ".join(f"{k} {v:.1f}s" for k, v in r["stages"].items())
    rate = r["chunks"] / r["stages"]["embed"] if r["embedded"] == r["documents"] else float("nan")  # full builds only
    print(f"{label:<22}{r['process_wall_s']:>8.1f}{r['seconds']:>9.1f}{rate:>10.1f}{r['peak_rss_mb']:>9.0f}  {r['embedded']:>5} embedded  {stages}", flush=True)


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        return child(Path(sys.argv[2]), Path(sys.argv[3]))
    ap = argparse.ArgumentParser()
    ap.add_argument("source", type=Path)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--keep", type=Path, help="build in this folder and keep it (its index/ serves bench/query.py)")
    ap.add_argument("--reindex-only", action="store_true", help="with --keep: skip the full build, time only the re-indexes")
    args = ap.parse_args()
    out = args.out or Path(f"bench/results/build-{args.source.name}" + ("-reindex" if args.reindex_only else "") + ".json")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        # A private copy of the collection, so changing one document leaves the original alone.
        source = work / "collection"
        index_dir = work / "index"
        print(f"{'build':<22}{'wall s':>8}{'build s':>9}{'chunks/s':>10}{'peak MB':>9}")
        if args.reindex_only and args.keep:
            full = None
        else:
            if work.exists() and args.keep:
                shutil.rmtree(work)
            shutil.copytree(args.source, source)
            full = run(source, index_dir)
            show("full", full)
        unchanged = run(source, index_dir)
        show("nothing changed", unchanged)
        victim = sorted(p for p in source.iterdir() if p.is_file())[-1]
        with open(victim, "a", encoding="utf-8") as f:
            f.write("\n\nAn added paragraph about cross-border e-commerce, so that this document changes.\n")
        one = run(source, index_dir)
        show(f"one changed ({victim.name})"[:22], one)
        size = sum(p.stat().st_size for p in (index_dir / "current").resolve().rglob("*") if p.is_file())
    result = {"source": str(args.source), "full": full, "unchanged": unchanged, "one_document_changed": one,
              "index_mb_on_disk": round(size / 1e6, 1), "cpu_count": os.cpu_count()}
    print(f"index on disk: {size / 1e6:.1f} MB")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
