"""Metrics over the scored cases, with bootstrap intervals; the reports; the regression gate."""

from __future__ import annotations

import html
import json
import random
import statistics
from pathlib import Path
from typing import Callable

from ..backends.drafts import repeats
from .score import Result

# metric name -> (what it is computed over, how); each returns None when it has no cases to go on.
Metric = Callable[[list[Result]], "float | None"]


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _answerable(rs):
    return [r for r in rs if r.answerable]


def _with_evidence(rs):
    return [r for r in rs if r.answerable and r.evidence_coverage is not None]


def _hit(k: int) -> Metric:
    return lambda rs: _mean([r.first_relevant_rank is not None and r.first_relevant_rank <= k for r in _with_evidence(rs)])


METRICS: dict[str, Metric] = {
    "hit@1": _hit(1),
    "hit@3": _hit(3),
    "hit@5": _hit(5),
    "hit@10": _hit(10),
    "mrr@10": lambda rs: _mean([1 / r.first_relevant_rank if r.first_relevant_rank else 0.0 for r in _with_evidence(rs)]),
    "ndcg@10": lambda rs: _mean([r.ndcg10 for r in _with_evidence(rs)]),
    "evidence_coverage": lambda rs: _mean([r.evidence_coverage for r in _with_evidence(rs)]),
    "fact_accuracy": lambda rs: _mean([r.facts_ok for r in _answerable(rs)]),
    "fact_recall": lambda rs: _mean([_mean(r.facts_found) if not r.abstained else 0.0 for r in _answerable(rs)]),
    "token_f1": lambda rs: _mean([r.token_f1 for r in _answerable(rs)]),
    "citation_recall": lambda rs: _mean([r.citation_recall for r in rs]),
    "citation_precision": lambda rs: _mean([r.citation_precision for r in rs]),
    "cites_gold": lambda rs: _mean([r.cites_gold for r in rs]),
    "abstention_precision": lambda rs: _ratio(sum(r.abstained and not r.answerable for r in rs), sum(r.abstained for r in rs)),
    "abstention_recall": lambda rs: _ratio(sum(r.abstained and not r.answerable for r in rs), sum(not r.answerable for r in rs)),
    "answered_when_answerable": lambda rs: _mean([not r.abstained for r in _answerable(rs)]),
    "pass_rate": lambda rs: _mean([r.passed for r in rs]),
    # LLM backends: of the answerable questions whose quoted sentences held every fact, the share
    # whose answer still does (1.0: the answer is never worse than the quotes it came from).
    "keeps_quoted_facts": lambda rs: _mean([r.facts_ok for r in _answerable(rs) if r.quotes_facts_ok]),
    "no_repeated_sentence": lambda rs: _mean([not repeats(r.answer) for r in rs]),
}
# What the gate watches, and by how much each may fall before it fails.
GATED = ["hit@5", "mrr@10", "evidence_coverage", "fact_accuracy", "token_f1", "citation_recall", "abstention_recall", "answered_when_answerable", "pass_rate", "keeps_quoted_facts", "no_repeated_sentence"]


def bootstrap(results: list[Result], metric: Metric, rounds: int = 1000, seed: int = 0) -> tuple[float, float] | None:
    """95% interval of a metric over resamples of the cases."""
    rng = random.Random(seed)
    values = []
    for _ in range(rounds):
        v = metric([rng.choice(results) for _ in results])
        if v is not None:
            values.append(v)
    if not values:
        return None
    values.sort()
    return values[int(0.025 * (len(values) - 1))], values[int(0.975 * (len(values) - 1))]


def summarise(results: list[Result], rounds: int = 1000) -> dict:
    metrics = {}
    for name, metric in METRICS.items():
        value = metric(results)
        ci = bootstrap(results, metric, rounds) if value is not None else None
        metrics[name] = {"value": value, "ci95": ci}
    stages = sorted({s for r in results for s in r.timings_ms})
    latency = {}
    for stage in stages:
        values = sorted(r.timings_ms[stage] for r in results if stage in r.timings_ms)
        latency[stage] = {"p50": statistics.median(values), "p95": values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]}
    return {"cases": len(results), "metrics": metrics, "latency_ms": latency}


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def _ci(ci) -> str:
    return "–" if not ci else f"{ci[0]:.3f}–{ci[1]:.3f}"


def markdown(summary: dict, results: list[Result], config: dict) -> str:
    lines = [f"# citeqa evaluation: {config['backend']}", "", "```", json.dumps(config, indent=1), "```", "", "| metric | value | 95% CI |", "| --- | --- | --- |"]
    for name, m in summary["metrics"].items():
        lines.append(f"| {name} | {_fmt(m['value'])} | {_ci(m['ci95'])} |")
    lines += ["", "| stage | p50 ms | p95 ms |", "| --- | --- | --- |"]
    lines += [f"| {s} | {v['p50']:.1f} | {v['p95']:.1f} |" for s, v in summary["latency_ms"].items()]
    lines += ["", "| id | pass | question | answer | what failed |", "| --- | --- | --- | --- | --- |"]
    for r in results:
        cell = lambda s: s.replace("|", "\\|").replace("\n", "<br>")  # noqa: E731
        lines.append(f"| {r.id} | {'✓' if r.passed else '✗'} | {cell(r.question)} | {cell(r.answer[:300])} | {cell('; '.join(r.failures))} |")
    return "\n".join(lines) + "\n"


def html_page(summary: dict, results: list[Result], config: dict) -> str:
    """One self-contained page: no script, no external resource; every text escaped."""
    e = html.escape
    rows = []
    for r in results:
        cites = "<br>".join(e(f"[{c['n']}] {c['passage_id']} {c['start']}-{c['end']}") for c in r.citations)
        rows.append(
            f"<tr class={'pass' if r.passed else 'fail'}><td>{e(r.id)}</td><td>{'✓' if r.passed else '✗'}</td><td>{e(r.question)}</td>"
            f"<td><pre>{e(r.answer)}</pre></td><td>{cites}</td><td>{e('; '.join(r.failures))}</td></tr>"
        )
    metric_rows = "".join(
        f"<tr><td>{e(n)}</td><td>{_fmt(m['value'])}</td><td>{_ci(m['ci95'])}</td></tr>"
        for n, m in summary["metrics"].items()
    )
    return f"""<!doctype html><html lang=en><meta charset=utf-8><title>citeqa evaluation: {e(config['backend'])}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}}
tr.fail td{{background:#fff1f0}}tr.pass td:nth-child(2){{color:#137333}}pre{{white-space:pre-wrap;margin:0;font:inherit}}</style>
<h1>citeqa evaluation: {e(config['backend'])}</h1><pre>{e(json.dumps(config, indent=1))}</pre>
<table><tr><th>metric<th>value<th>95% CI</tr>{metric_rows}</table>
<table><tr><th>id<th>pass<th>question<th>answer<th>citations<th>what failed</tr>{''.join(rows)}</table></html>
"""


def write(out: Path, summary: dict, results: list[Result], config: dict) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "result.json", "markdown": out / "report.md", "html": out / "report.html"}
    paths["json"].write_text(json.dumps({"config": config, **summary, "results": [r.to_dict() for r in results]}, indent=1, ensure_ascii=False))
    paths["markdown"].write_text(markdown(summary, results, config), encoding="utf-8")
    paths["html"].write_text(html_page(summary, results, config), encoding="utf-8")
    return paths


def check(summary: dict, results: list[Result], baseline: dict, tolerance: float) -> list[str]:
    """What regressed against the baseline: metrics that fell by more than the tolerance, and the questions behind them."""
    problems = []
    for name in GATED:
        base = baseline["metrics"].get(name)
        now = summary["metrics"].get(name, {}).get("value")
        if base is None or now is None:
            continue
        if now < base - tolerance:
            problems.append(f"{name} fell from {base:.3f} to {now:.3f} (tolerance {tolerance:.3f})")
    if problems:
        was_passing = set(baseline.get("passed", []))
        for r in results:
            if r.id in was_passing and not r.passed:
                problems.append(f"  {r.id}: now fails ({'; '.join(r.failures) or 'see report'}): {r.question}")
    return problems


def baseline_entry(summary: dict, results: list[Result], config: dict) -> dict:
    return {
        "config": config,
        "metrics": {n: (round(m["value"], 4) if m["value"] is not None else None) for n, m in summary["metrics"].items()},
        "passed": sorted(r.id for r in results if r.passed),
    }
