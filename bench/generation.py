"""Local generation speed: time to first token and tokens/s, short vs long prompts, 1 vs 2 threads,
with and without the fixed system prompt already in the KV cache.

    .venv/bin/python bench/generation.py [--model qwen2.5-0.5b] [--reps 4]

Prompts are the real system prompt plus seed passages and a question: short (one passage) and
long (passages up to about 1,500 tokens). "cached" means the previous prompt shared the system
prompt, so llama.cpp reads only what follows it (the server keeps it so: it reads the system
prompt at start-up); "cold" means another prompt came between. Each answer is cut at 96 tokens.
tokens/s counts the tokens after the first over the time after the first (the writing speed).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from app.backends.generators import Options
from app.backends.local import LocalLlama
from app.prompts import Prompts
from app.settings import Settings
from common import seed_index, write

QUESTIONS = ["Summarise what these passages say about e-commerce negotiations.", "What do these passages recommend, point by point?",
             "Which organisations are named in these passages, and what did each do?", "What problems do these passages describe?",
             "List every number in these passages and what it counts.", "What happened at the meetings described here?"]


def passages(chunks: list[dict], budget: int, counter, start: int) -> str:
    parts, used, i = [], 0, start
    while True:
        text = f"[{len(parts) + 1}] {chunks[i % len(chunks)]['text']}"
        if parts and used + counter(text) > budget:
            return "\n\n".join(parts)
        parts.append(text)
        used += counter(text)
        i += 7


def timed(generator: LocalLlama, messages: list[dict]) -> tuple[float, float, int]:
    t = time.perf_counter()
    first, text = None, ""
    for piece in generator.execute(messages, Options(max_tokens=96)):
        if first is None:
            first = time.perf_counter()
        text += piece
    end = time.perf_counter()
    tokens = generator.count_tokens(text)
    return (first - t) * 1000, (tokens - 1) / (end - first) if tokens > 1 and end > first else float("nan"), tokens


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="qwen2.5-0.5b")
    ap.add_argument("--reps", type=int, default=4)
    args = ap.parse_args()
    settings = Settings.from_env(llm_model=args.model)
    prompts = Prompts(settings.prompts_dir)
    system = prompts.render("system", refusal=prompts.refusal())
    with tempfile.TemporaryDirectory() as tmp:
        chunks = seed_index(Path(tmp)).chunks
    rows = []
    print(f"{args.model}: system prompt + passages + question; answers cut at 96 tokens; median of {args.reps}")
    print(f"{'threads':>7} {'prompt':<6} {'tokens':>6} {'KV prefix':<9} {'first token ms':>15} {'tokens/s':>9}")
    for threads in (1, 2):
        generator = LocalLlama(settings.llm_model, settings.model_dir, settings.n_ctx, threads)
        system_tokens = generator.count_tokens(system)
        for size, budget in (("short", 150), ("long", 1500)):
            users = [f"Passages:\n{passages(chunks, budget, generator.count_tokens, r)}\n\nQuestion: {QUESTIONS[r % len(QUESTIONS)]}\nAnswer:" for r in range(args.reps)]
            prompt_tokens = system_tokens + statistics.median(generator.count_tokens(u) for u in users)
            for cache in ("cached", "cold"):
                results = []
                timed(generator, [{"role": "system", "content": system}, {"role": "user", "content": "Warm up."}])
                for r, user in enumerate(users):
                    if cache == "cold":  # another conversation in between: nothing of this prompt is cached
                        timed(generator, [{"role": "system", "content": f"Note {r}. You answer briefly."}, {"role": "user", "content": "Hi."}])
                    results.append(timed(generator, [{"role": "system", "content": system}, {"role": "user", "content": user}]))
                ttft = statistics.median(x[0] for x in results)
                rate = statistics.median(x[1] for x in results)
                rows.append({"threads": threads, "prompt": size, "prompt_tokens": prompt_tokens, "kv_prefix": cache,
                             "first_token_ms": round(ttft), "tokens_per_s": round(rate, 1), "answer_tokens": [x[2] for x in results]})
                print(f"{threads:>7} {size:<6} {prompt_tokens:>6.0f} {cache:<9} {ttft:>15.0f} {rate:>9.1f}", flush=True)
        generator._llm = None
    write("generation", {"model": args.model, "system_prompt_tokens": system_tokens, "rows": rows})


if __name__ == "__main__":
    main()
