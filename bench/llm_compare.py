"""Answer quality and speed of backends/models on a small question set with required facts.

    .venv/bin/python bench/llm_compare.py extractive local:qwen2.5-0.5b local:qwen2.5-1.5b

A stand-in for the evaluation harness: each answerable question lists facts that must all appear
(each fact a list of accepted alternatives); unanswerable ones must be refused.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from app.assistant import Assistant
from app.settings import Settings

CASES = [
    ("What did FED propose?", [["roadmap"], ["seven", "7"]]),
    ("Who chaired the WTO e-commerce meetings?", [["Yamazaki"]]),
    ("When was the First Global Cross-border E-commerce Conference held?", [["February"], ["2018"]]),
    ("How many WTO members participate in the e-commerce initiative?", [["87"]]),
    ("What is ACCEC responsible for?", [["objectives", "implement", "managing"]]),
    ("Where did Alibaba's eWTP launch its first hub?", [["Malaysia"]]),
    ("How many people took part in E-Commerce Week 2017?", [["1,000", "thousand"]]),
    ("Who co-organized the Beijing cross-border e-commerce conference?", [["World Customs Organization", "WCO"]]),
    ("Which technologies does the Beijing Declaration ask customs to leverage?", [["artificial intelligence", "AI"], ["block chain", "blockchain"]]),
    ("When was the ASEAN e-commerce agreement concluded?", [["November 2018"]]),
    ("What did Jack Ma encourage policymakers to do?", [["enabling environment"]]),
    ("Which ambassador urged members to look beyond their domestic legislation?", [["Hung Seng Tan", "Tan"]]),
    ("What did the Federal Reserve propose?", None),
    ("Who won the 2018 FIFA World Cup?", None),
    ("What is the population of Malaysia?", None),
    ("How much money did the World Bank pledge at E-Commerce Week 2017?", None),
]


def run(spec: str) -> dict:
    backend, _, model = spec.partition(":")
    settings = Settings.from_env(backend=backend, **({"llm_model": model} if model else {}))
    a = Assistant(settings, progress=False)
    a.ask("warm up: what is eWTP?")
    rows = []
    for question, facts in CASES:
        t = time.perf_counter()
        ans = a.ask(question)
        total = time.perf_counter() - t
        text = ans.answer.lower()
        if facts is None:
            ok = ans.abstained
        else:
            ok = not ans.abstained and all(any(alt.lower() in text for alt in fact) for fact in facts)
        rows.append({"question": question, "ok": ok, "answerable": facts is not None, "abstained": ans.abstained,
                     "cited": bool(ans.citations), "unsupported": len(ans.unsupported), "total_s": total,
                     "first_token_ms": ans.timings_ms.get("first_token"), "prompt_tokens": ans.prompt_tokens, "answer": ans.answer})
    answerable = [r for r in rows if r["answerable"]]
    refusable = [r for r in rows if not r["answerable"]]
    generated = [r for r in rows if r["prompt_tokens"]]
    return {
        "backend": spec,
        "facts_correct": sum(r["ok"] for r in answerable) / len(answerable),
        "refused_unanswerable": sum(r["ok"] for r in refusable) / len(refusable),
        "wrongly_refused": sum(r["abstained"] for r in answerable) / len(answerable),
        "cited": sum(r["cited"] for r in answerable if not r["abstained"]) / max(1, sum(not r["abstained"] for r in answerable)),
        "p50_total_s": statistics.median(r["total_s"] for r in rows),
        "p50_first_token_ms": statistics.median(r["first_token_ms"] for r in generated) if generated else None,
        "mean_prompt_tokens": statistics.mean(r["prompt_tokens"] for r in generated) if generated else 0,
        "rows": rows,
    }


def main() -> None:
    results = [run(spec) for spec in sys.argv[1:] or ["extractive", "local:qwen2.5-0.5b"]]
    print(f"{'backend':<22}{'facts':>7}{'refused':>9}{'wrong-ref':>10}{'cited':>7}{'p50 s':>8}{'TTFT ms':>9}{'prompt tok':>11}")
    for r in results:
        ttft = f"{r['p50_first_token_ms']:.0f}" if r["p50_first_token_ms"] else "-"
        print(f"{r['backend']:<22}{r['facts_correct']:>7.2f}{r['refused_unanswerable']:>9.2f}{r['wrongly_refused']:>10.2f}{r['cited']:>7.2f}{r['p50_total_s']:>8.2f}{ttft:>9}{r['mean_prompt_tokens']:>11.0f}")
    out = Path("bench/results/llm_compare.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
