"""Where the extractive gate should refuse: the best sentence's score, answerable against unanswerable, on both gold collections.

    .venv/bin/python bench/refusal_threshold.py      # prints a table, writes bench/results/refusal_threshold.json

For each gold question, the score of the best sentence the selector found (extractive.py's
`score_sentences`), then, for each threshold, the share of answerable questions that pass it
and the share of unanswerable ones it stops: the score gate alone (the name gate, a name no
document mentions, refuses some more at any threshold; the evals count both). `min_score` in
extractive.py is chosen from this table.
"""

from __future__ import annotations

from pathlib import Path

from app.assistant import Assistant
from app.backends import extractive
from app.evaluation import collections, gold
from app.settings import Settings
from common import write

THRESHOLDS = (0.27, 0.30, 0.33, 0.36, 0.40, 0.45, 0.50)
ROOT = Path(__file__).resolve().parent.parent


def best_scores(name: str) -> list[tuple[bool, float | None]]:
    c = collections.get(name)
    own = {} if name == "seeds" else {"index_dir": ROOT / c.index_dir, "sources": [ROOT / s for s in c.sources], "upload_dir": ROOT / c.index_dir / "uploads"}
    assistant = Assistant(Settings.from_env(backend="extractive", **own), progress=False)
    assistant.ensure_index()
    seen: dict[str, float | None] = {}
    score = extractive.Extractive.score_sentences

    def recording(self, retrieved, part=None):
        out = score(self, retrieved, part)
        if part is None:  # the whole question's, not a compound question's part's
            seen["best"] = out[0].score if out else None
        return out

    extractive.Extractive.score_sentences = recording
    try:
        rows = []
        for case in gold.load(ROOT / c.gold, assistant.index.texts):
            seen["best"] = None  # stays None when nothing was retrieved
            assistant.ask(case.question, history=case.history, backend="extractive")
            rows.append((case.answerable, seen["best"]))
        return rows
    finally:
        extractive.Extractive.score_sentences = score


def main() -> None:
    out = {}
    print(f"{'collection':<10} {'threshold':>9} {'answerable passing':>19} {'unanswerable stopped':>21}")
    for name in ("seeds", "quac"):
        rows = best_scores(name)
        answerable = [s for a, s in rows if a]
        unanswerable = [s for a, s in rows if not a]
        out[name] = []
        for t in THRESHOLDS:
            passing = sum(s is not None and s >= t for s in answerable) / max(len(answerable), 1)
            stopped = sum(s is None or s < t for s in unanswerable) / max(len(unanswerable), 1)
            out[name].append({"threshold": t, "answerable_passing": round(passing, 3), "unanswerable_stopped": round(stopped, 3)})
            print(f"{name:<10} {t:>9.2f} {passing:>19.3f} {stopped:>21.3f}")
    write("refusal_threshold", out)


if __name__ == "__main__":
    main()
