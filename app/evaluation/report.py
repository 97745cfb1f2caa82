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
# What each metric means, for the reports.
DEFINITIONS = {
    "hit@1": "share of answerable questions whose first retrieved passage holds gold evidence (hit@3, @5, @10 likewise)",
    "mrr@10": "mean of 1/rank of the first passage holding gold evidence, 0 when none of the top 10 does",
    "ndcg@10": "normalised discounted cumulative gain of the top 10 passages, graded by gold-evidence overlap",
    "evidence_coverage": "share of the gold evidence that the passages shown to the model contain, within the prompt's token budget",
    "fact_accuracy": "share of answerable questions answered (not refused) with every required fact present",
    "fact_recall": "mean share of required facts present in the answer (0 for a refusal)",
    "token_f1": "SQuAD-style token F1 between the answer and the reference answer",
    "citation_recall": "ALCE-style: share of answer sentences supported by the passages they cite",
    "citation_precision": "ALCE-style: share of citations that support the sentence carrying them",
    "cites_gold": "share of answers with at least one cited span overlapping the gold evidence",
    "abstention_precision": "of the refusals, the share that were of unanswerable questions",
    "abstention_recall": "of the unanswerable questions, the share refused",
    "answered_when_answerable": "of the answerable questions, the share not refused",
    "pass_rate": "share of questions passed: answerable ones with every fact, unanswerable ones refused",
    "keeps_quoted_facts": "LLM backends: of the questions whose extractive quotes held every fact, the share whose answer still does",
    "no_repeated_sentence": "share of answers in which no sentence or line appears twice",
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


def changes(results: list[Result], baseline: dict | None) -> dict[str, list[str]]:
    """Question ids that went from pass to fail, and from fail to pass, against the baseline's run."""
    if not baseline or "passed" not in baseline:
        return {"newly_failing": [], "newly_passing": []}
    was = set(baseline["passed"])
    return {"newly_failing": [r.id for r in results if r.id in was and not r.passed],
            "newly_passing": [r.id for r in results if r.id not in was and r.passed]}


def by_tag(results: list[Result]) -> dict[str, dict]:
    tags = sorted({t for r in results for t in r.tags} | {"(all)"})
    out = {}
    for tag in tags:
        rs = results if tag == "(all)" else [r for r in results if tag in r.tags]
        out[tag] = {"cases": len(rs), "passed": sum(r.passed for r in rs),
                    **{m: METRICS[m](rs) for m in ("fact_accuracy", "hit@5", "abstention_recall")}}
    return out


def headline(summary: dict, results: list[Result], baseline: dict | None) -> str:
    passed = sum(r.passed for r in results)
    text = f"{passed}/{len(results)} passed"
    fa = summary["metrics"]["fact_accuracy"]["value"]
    if fa is not None:
        text += f", fact accuracy {fa:.3f}"
        base = (baseline or {}).get("metrics", {}).get("fact_accuracy")
        if base is not None:
            text += f" ({fa - base:+.3f} against the baseline's {base:.3f})"
    diff = changes(results, baseline)
    if baseline:
        text += f"; {len(diff['newly_failing'])} newly failing, {len(diff['newly_passing'])} newly passing"
    return text


def _delta(name: str, summary: dict, baseline: dict | None) -> str:
    base = (baseline or {}).get("metrics", {}).get(name)
    now = summary["metrics"][name]["value"]
    return "–" if base is None or now is None else f"{base:.3f} ({now - base:+.3f})"


def markdown(summary: dict, results: list[Result], config: dict, baseline: dict | None = None) -> str:
    lines = [f"# citeqa evaluation: {config['backend']}", "", f"**{headline(summary, results, baseline)}**", ""]
    diff = changes(results, baseline)
    for label, ids in (("Newly failing", diff["newly_failing"]), ("Newly passing", diff["newly_passing"])):
        if ids:
            lines += [f"{label}: {', '.join(ids)}", ""]
    lines += ["```", json.dumps(config, indent=1), "```", "", "| metric | value | 95% CI | baseline (change) |", "| --- | --- | --- | --- |"]
    for name, m in summary["metrics"].items():
        lines.append(f"| {name} | {_fmt(m['value'])} | {_ci(m['ci95'])} | {_delta(name, summary, baseline)} |")
    lines += ["", "| tag | cases | passed | fact_accuracy | hit@5 | abstention_recall |", "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {t} | {v['cases']} | {v['passed']} | {_fmt(v['fact_accuracy'])} | {_fmt(v['hit@5'])} | {_fmt(v['abstention_recall'])} |"
              for t, v in by_tag(results).items()]
    lines += ["", "| stage | p50 ms | p95 ms |", "| --- | --- | --- |"]
    lines += [f"| {s} | {v['p50']:.1f} | {v['p95']:.1f} |" for s, v in summary["latency_ms"].items()]
    lines += ["", "| id | pass | question | answer | what failed |", "| --- | --- | --- | --- | --- |"]
    for r in results:
        cell = lambda s: s.replace("|", "\\|").replace("\n", "<br>")  # noqa: E731
        lines.append(f"| {r.id} | {'✓' if r.passed else '✗'} | {cell(r.question)} | {cell(r.answer[:300])} | {cell('; '.join(r.failures))} |")
    lines += ["", "Metrics:", ""] + [f"- **{n}**: {d}" for n, d in DEFINITIONS.items()]
    return "\n".join(lines) + "\n"


def plot(summary: dict, baseline: dict | None) -> str:
    """The metrics with their 95% intervals (and the baseline's value), and latency per stage: a PNG as a data: URL."""
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n, m in summary["metrics"].items() if m["value"] is not None]
    values = [summary["metrics"][n]["value"] for n in names]
    lows = [v - (summary["metrics"][n]["ci95"] or (v, v))[0] for n, v in zip(names, values)]
    highs = [(summary["metrics"][n]["ci95"] or (v, v))[1] - v for n, v in zip(names, values)]
    stages = list(summary["latency_ms"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 0.32 * max(len(names), 8) + 1), gridspec_kw={"width_ratios": [3, 2]})
    y = range(len(names))
    left.barh(y, values, xerr=[lows, highs], color="#4a7bd0", ecolor="#333", capsize=2)
    base = (baseline or {}).get("metrics", {})
    marks = [(i, base[n]) for i, n in enumerate(names) if base.get(n) is not None]
    if marks:
        left.scatter([v for _, v in marks], [i for i, _ in marks], marker="|", s=200, color="#d04a4a", label="baseline", zorder=3)
        left.legend(loc="lower right")
    left.set_yticks(list(y), names)
    left.invert_yaxis()
    left.set_xlim(0, 1.05)
    left.set_title("metrics, with 95% bootstrap intervals")
    p50 = [summary["latency_ms"][s]["p50"] for s in stages]
    p95 = [summary["latency_ms"][s]["p95"] for s in stages]
    ys = range(len(stages))
    right.barh([i + 0.2 for i in ys], p95, height=0.4, color="#c9d6ef", label="p95")
    right.barh([i - 0.2 for i in ys], p50, height=0.4, color="#4a7bd0", label="p50")
    right.set_yticks(list(ys), stages)
    right.invert_yaxis()
    right.set_xscale("symlog", linthresh=1)
    right.set_xlabel("ms")
    right.set_title("latency per stage")
    right.legend(loc="lower right")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def html_page(summary: dict, results: list[Result], config: dict, baseline: dict | None = None) -> str:
    """One self-contained page: no script, no external resource; every text escaped."""
    e = html.escape
    by_id = {r.id: r for r in results}
    rows = []
    for r in results:
        cites = "<br>".join(e(f"[{c['n']}] {c['passage_id']} {c['start']}-{c['end']}") for c in r.citations)
        rows.append(
            f"<tr class={'pass' if r.passed else 'fail'} id=q-{e(r.id)}><td>{e(r.id)}</td><td>{'✓' if r.passed else '✗'}</td><td>{e(', '.join(r.tags))}</td>"
            f"<td>{e(r.question)}</td><td><pre>{e(r.answer)}</pre></td><td>{cites}</td><td>{e('; '.join(r.failures))}</td></tr>"
        )
    metric_rows = "".join(
        f"<tr><td><abbr title='{e(DEFINITIONS.get(n, ''))}'>{e(n)}</abbr></td><td>{_fmt(m['value'])}</td><td>{_ci(m['ci95'])}</td>"
        f"<td>{_delta(n, summary, baseline)}</td></tr>"
        for n, m in summary["metrics"].items()
    )
    tag_rows = "".join(
        f"<tr><td>{e(t)}</td><td>{v['cases']}</td><td>{v['passed']}</td><td>{_fmt(v['fact_accuracy'])}</td><td>{_fmt(v['hit@5'])}</td>"
        f"<td>{_fmt(v['abstention_recall'])}</td></tr>"
        for t, v in by_tag(results).items()
    )
    latency_rows = "".join(f"<tr><td>{e(s)}</td><td>{v['p50']:.1f}</td><td>{v['p95']:.1f}</td></tr>" for s, v in summary["latency_ms"].items())
    diff = changes(results, baseline)
    diff_html = ""
    for label, ids, cls in (("Newly failing", diff["newly_failing"], "fail"), ("Newly passing", diff["newly_passing"], "pass")):
        if ids:
            items = "".join(f"<li><a href='#q-{e(i)}'>{e(i)}</a>: {e(by_id[i].question)}" + (f" — {e('; '.join(by_id[i].failures))}" if by_id[i].failures else "")
                            + "</li>" for i in ids)
            diff_html += f"<h2 class={cls}>{label} against the baseline ({len(ids)})</h2><ul>{items}</ul>"
    if baseline is None:
        diff_html = "<p>No baseline for this run: record one with <code>--update-baseline</code>.</p>"
    definitions = "".join(f"<dt>{e(n)}<dd>{e(d)}" for n, d in DEFINITIONS.items())
    return f"""<!doctype html><html lang=en><meta charset=utf-8><title>citeqa evaluation: {e(config['backend'])}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;max-width:1400px}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}}
tr.fail td{{background:#fff1f0}}tr.pass td:nth-child(2){{color:#137333}}pre{{white-space:pre-wrap;margin:0;font:inherit}}h2.fail{{color:#a50e0e}}h2.pass{{color:#137333}}
.headline{{font-size:20px;font-weight:600}}dt{{font-weight:600;margin-top:.4em}}img{{max-width:100%}}.row{{display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start}}</style>
<h1>citeqa evaluation: {e(config.get('collection', ''))} · {e(config['backend'])}{' · ' + e(config['subset']) if config.get('subset') else ''}</h1>
<p class=headline>{e(headline(summary, results, baseline))}</p>
{diff_html}
<img alt="metrics with their 95% intervals, and latency per stage" src="{plot(summary, baseline)}">
<div class=row><table><tr><th>metric<th>value<th>95% CI<th>baseline (change)</tr>{metric_rows}</table>
<div><table><tr><th>tag<th>cases<th>passed<th>fact_accuracy<th>hit@5<th>abstention_recall</tr>{tag_rows}</table>
<table><tr><th>stage<th>p50 ms<th>p95 ms</tr>{latency_rows}</table></div></div>
<table><tr><th>id<th>pass<th>tags<th>question<th>answer<th>citations<th>what failed</tr>{''.join(rows)}</table>
<h2>What the metrics mean</h2><dl>{definitions}</dl>
<details><summary>configuration</summary><pre>{e(json.dumps(config, indent=1))}</pre></details></html>
"""


def junit(summary: dict, results: list[Result], config: dict, problems: list[str]) -> str:
    """JUnit XML for CI systems: one test case per question, and one for the regression gate."""
    from xml.sax.saxutils import quoteattr

    name = f"citeqa eval {config.get('collection', '')} {config['backend']}" + (f":{config['subset']}" if config.get("subset") else "")
    total_s = sum(r.timings_ms.get("total", 0.0) for r in results) / 1000
    cases = []
    for r in results:
        body = "" if r.passed else f"<failure message={quoteattr('; '.join(r.failures) or 'failed')}>{html.escape(r.answer)}</failure>"
        cases.append(f"<testcase classname={quoteattr(name)} name={quoteattr(f'{r.id}: {r.question}')} "
                     f"time='{r.timings_ms.get('total', 0.0) / 1000:.3f}'>{body}</testcase>")
    gate = "" if not problems else f"<failure message={quoteattr(problems[0])}>{html.escape(chr(10).join(problems))}</failure>"
    cases.append(f"<testcase classname={quoteattr(name)} name='regression gate against the baseline'>{gate}</testcase>")
    failures = sum(not r.passed for r in results) + bool(problems)
    return (f"<?xml version='1.0' encoding='utf-8'?>\n<testsuite name={quoteattr(name)} tests='{len(cases)}' failures='{failures}' "
            f"time='{total_s:.3f}'>\n" + "\n".join(cases) + "\n</testsuite>\n")


def write(out: Path, summary: dict, results: list[Result], config: dict, baseline: dict | None = None) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "result.json", "markdown": out / "report.md", "html": out / "report.html"}
    paths["json"].write_text(json.dumps({"config": config, **summary, "changes": changes(results, baseline),
                                         "results": [r.to_dict() for r in results]}, indent=1, ensure_ascii=False))
    paths["markdown"].write_text(markdown(summary, results, config, baseline), encoding="utf-8")
    paths["html"].write_text(html_page(summary, results, config, baseline), encoding="utf-8")
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
