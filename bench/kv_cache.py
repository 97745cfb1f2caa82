"""Time to first token of the local model with and without the fixed system prompt already in its KV cache.

    .venv/bin/python bench/kv_cache.py
"""

from __future__ import annotations

import statistics
import time

from app.backends.generators import Options
from app.backends.local import LocalLlama
from app.prompts import Prompts
from app.settings import Settings


def main() -> None:
    settings = Settings.from_env()
    generator = LocalLlama.from_settings(settings)
    prompts = Prompts(settings.prompts_dir)
    system = prompts.render("system", refusal=prompts.refusal())
    users = [f"Passages:\n[1] The Zeta council met in {y} and adopted rule {y % 7}.\n\nQuestion: What did the Zeta council adopt in {y}?\nAnswer:" for y in range(2001, 2011)]

    def first_token_ms(messages) -> float:
        t = time.perf_counter()
        for _ in generator.execute(messages, Options(max_tokens=1)):
            break
        return (time.perf_counter() - t) * 1000

    first_token_ms([{"role": "system", "content": system}, {"role": "user", "content": users[0]}])
    cached = [first_token_ms([{"role": "system", "content": system}, {"role": "user", "content": u}]) for u in users[1:5]]
    cold = []
    for i, u in enumerate(users[5:]):
        first_token_ms([{"role": "system", "content": f"Other {i}. " + system}, {"role": "user", "content": "x"}])  # evict the prefix
        cold.append(first_token_ms([{"role": "system", "content": system}, {"role": "user", "content": u}]))
    print(f"system prompt: {generator.count_tokens(system)} tokens ({settings.llm_model}, {settings.threads} threads)")
    print(f"time to first token with the system prompt cached: p50 {statistics.median(cached):.0f} ms; without: p50 {statistics.median(cold):.0f} ms")


if __name__ == "__main__":
    main()
