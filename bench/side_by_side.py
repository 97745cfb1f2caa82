"""Extractive and local answers to ten questions side by side, with the local model's speed.

    .venv/bin/python bench/side_by_side.py      # writes bench/results/side_by_side.md
"""

from __future__ import annotations

import statistics
from pathlib import Path

from app.assistant import Assistant
from app.settings import Settings

QUESTIONS = [
    "What did FED propose?",
    "Who chaired the WTO e-commerce meetings?",
    "How many WTO members participate in the e-commerce initiative?",
    "When was the First Global Cross-border E-commerce Conference held?",
    "What is eWTP?",
    "Who will implement the ASEAN e-commerce agreement?",
    "What measures enhance consumer confidence in e-commerce?",
    "How many people took part in E-Commerce Week 2017?",
    "What did the Federal Reserve propose?",
    "What is the population of Malaysia?",
]


def cell(answer) -> str:
    text = answer.answer.replace("\n", "<br>").replace("|", "\\|")
    flags = []
    if answer.abstained:
        flags.append("refused")
    if answer.unsupported:
        flags.append(f"{len(answer.unsupported)} unsupported")
    return text + (f" *({', '.join(flags)})*" if flags else "")


def main() -> None:
    a = Assistant(Settings.from_env(), progress=False)
    a.ask("warm up: what is eWTP?")
    llm = a.backend("local").generator
    rows, ttft, rates, prompt = [], [], [], []
    for q in QUESTIONS:
        ext = a.ask(q, backend="extractive")
        loc = a.ask(q, backend="local")
        if loc.prompt_tokens:
            ttft.append(loc.timings_ms["first_token"])
            prompt.append(loc.prompt_tokens)
            out_tokens = llm.count_tokens(loc.answer)
            seconds = (loc.timings_ms["answer"] - loc.timings_ms["first_token"]) / 1000
            if out_tokens > 3 and seconds > 0:
                rates.append(out_tokens / seconds)
        rows.append(f"| {q} | {cell(ext)} | {cell(loc)} | {loc.timings_ms['total'] / 1000:.1f} |")
    summary = (
        f"local ({llm.model}, 2 threads): time to first token p50 {statistics.median(ttft):.0f} ms "
        f"(min {min(ttft):.0f}, max {max(ttft):.0f}); about {statistics.median(rates):.0f} tokens/s written; "
        f"prompt {statistics.median(prompt):.0f} cl100k tokens p50 (max {max(prompt)})."
    )
    table = "| question | extractive | local | local s |\n| --- | --- | --- | --- |\n" + "\n".join(rows)
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/side_by_side.md").write_text(summary + "\n\n" + table + "\n")
    print(summary)
    print(table)


if __name__ == "__main__":
    main()
