"""A large collection for the scale benchmarks: the four seeds plus generated documents.

    .venv/bin/python bench/corpus.py [--chunks 100000] [--out bench/data/large]

No large corpus on e-commerce policy is available offline, so the extra documents are generated:
a first-order word Markov chain trained on the seeds writes paragraphs (4 to 9 sentences) under
section headings, 20 paragraphs a document. The text has the seeds' vocabulary and word
frequencies (what BM25 and the embedding model see) but no coherent facts, so the real seed passages
stay the only answers to the gold questions; first order keeps verbatim copies of seed sentences
rare. The same --seed gives the same files. Documents are written until the collection, chunked
with the default settings, has at least --chunks chunks.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from collections import defaultdict
from pathlib import Path

from tqdm import tqdm

from app.chunking import chunk
from app.cleaning import clean
from app.documents import discover, load
from app.settings import Settings

END = "\n"


def train(texts: list[str]) -> dict[str, list[str]]:
    follows: dict[str, list[str]] = defaultdict(list)
    for text in texts:
        for paragraph in clean(text).text.split("\n"):
            words = paragraph.split()
            if len(words) < 8:
                continue
            prev = END
            for w in words:
                follows[prev].append(w)
                prev = END if w.endswith((".", "?", "!")) else w
    return follows


def sentence(follows: dict[str, list[str]], rng: random.Random) -> str:
    words, w = [], END
    while len(words) < 60:
        w = rng.choice(follows.get(w) or follows[END])
        words.append(w)
        if w.endswith((".", "?", "!")):
            break
        w = w if w in follows else END
    text = " ".join(words)
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")


def document(follows: dict[str, list[str]], rng: random.Random, number: int) -> str:
    parts = [f"Generated report {number}: " + sentence(follows, rng).rstrip(".")[:80], ""]
    for p in range(20):
        if p % 5 == 0:
            parts += [f"Session {p // 5 + 1}: {' '.join(rng.choice(follows[END]) for _ in range(3)).rstrip('.,;:')}", ""]
        parts += [" ".join(sentence(follows, rng) for _ in range(rng.randint(4, 9))), ""]
    return "\n".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--out", type=Path, default=Path("bench/data/large"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    settings = Settings()
    seeds = [load(path, name) for path, name in discover([Path("seeds")])]
    follows = train([d.text for d in seeds])
    rng = random.Random(args.seed)
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    total = 0
    for d in seeds:
        shutil.copy(d.path, args.out / d.name)
        total += len(chunk(clean(d.text), d.text, settings.chunk_tokens, settings.chunk_overlap, settings.max_list_tokens))
    n = 0
    with tqdm(total=args.chunks, initial=total, desc="generating", unit="chunk", file=sys.stderr) as bar:
        while total < args.chunks:
            n += 1
            text = document(follows, rng, n)
            (args.out / f"gen_{n:05d}.txt").write_text(text, encoding="utf-8")
            pieces = len(chunk(clean(text), text, settings.chunk_tokens, settings.chunk_overlap, settings.max_list_tokens))
            total += pieces
            bar.update(pieces)
    size = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"{args.out}: {len(seeds)} seed + {n} generated documents, {total} chunks, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
