"""How well the LLM's yes/no judgement separates answerable from unanswerable questions, by threshold.

    CITEQA_JUDGE_THRESHOLD=0.01 citeqa eval --backend local [--collection quac --subset dev]   # records each P("yes")
    python bench/judge.py eval/reports/seeds-local/result.json eval/reports/quac-local-dev/result.json

For each report: the judge's cost, its ROC AUC over the questions that reached the model (the
lexical gate refuses the rest before it), and what abstention precision and recall and
answered-when-answerable would be if answers with P("yes") below each threshold were refused.
A threshold of 0 turns the judge off; 0.01 runs it and refuses (almost) nothing.
"""

from __future__ import annotations

import json
import statistics
import sys


def auc(pos: list[float], neg: list[float]) -> float | None:
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def main(paths: list[str]) -> int:
    for path in paths:
        results = json.load(open(path, encoding="utf-8"))["results"]
        judged = [r for r in results if r.get("answerability") is not None]
        ms = [r["timings_ms"]["judge"] for r in judged if "judge" in r["timings_ms"]]
        pos = [r["answerability"] for r in judged if r["answerable"]]
        neg = [r["answerability"] for r in judged if not r["answerable"]]
        a = auc(pos, neg)
        print(f"{path}: {len(results)} questions, {len(judged)} judged ({len(neg)} unanswerable); AUC {a:.3f}" if a is not None else f"{path}: nothing to compare")
        if ms:
            print(f"  judge cost p50 {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms")
        print("  threshold  abst.precision  abst.recall  answered-when-answerable")
        for t in (0.0, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
            refused = [r for r in results if r["abstained"] or (r.get("answerability") is not None and r["answerability"] < t)]
            right = sum(not r["answerable"] for r in refused)
            unans = sum(not r["answerable"] for r in results)
            answerable = [r for r in results if r["answerable"]]
            ok = sum(r not in refused for r in answerable)
            print(f"  {t:9.2f}  {right / len(refused) if refused else float('nan'):14.3f}  {right / unans if unans else float('nan'):11.3f}  {ok / len(answerable):24.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
