import json
import re
from collections import Counter
from xml.etree import ElementTree

import pytest

from app.evaluation import gold, report
from app.evaluation.score import evaluate

from conftest import ROOT
from test_cli import run

GOLD = ROOT / "eval" / "seeds" / "gold.jsonl"


def test_the_gold_set_covers_what_it_must(assistant):
    cases = gold.load(GOLD, assistant.index.texts)
    tags = Counter(t for c in cases for t in c.tags)
    assert len(cases) >= 60
    assert sum(not c.answerable for c in cases) >= 8 and tags["adversarial"] >= 3
    assert tags["two-docs"] >= 6 and tags["paraphrase"] >= 6 and tags["number"] + tags["date"] >= 6
    assert sum(bool(c.history) for c in cases) >= 5
    assert {s.doc for c in cases for s in c.evidence} == set(assistant.index.texts)
    for c in cases:  # every quote resolved to an exact span
        for s in c.evidence:
            assert 0 <= s.start < s.end <= len(assistant.index.texts[s.doc])


def test_a_quote_that_no_longer_matches_is_an_error(assistant, tmp_path):
    bad = tmp_path / "gold.jsonl"
    bad.write_text(GOLD.read_text().splitlines()[0] + "\n" + json.dumps(
        {"id": "x", "question": "q?", "answer": "a", "facts": [["a"]], "evidence": [{"doc": "000_69525f96bd29f103.txt", "quote": "words that are not there"}]}
    ) + "\n")
    with pytest.raises(gold.GoldError, match=r"gold.jsonl:2: x: the quote 'words that are not there' no longer matches 000_"):
        gold.load(bad, assistant.index.texts)


def test_reports_are_written_and_escaped(assistant, tmp_path):
    cases = gold.load(GOLD, assistant.index.texts)
    chosen = gold.select(cases, "wto-members,no-fifa")
    chosen[0].question = "How many WTO members <script>alert(1)</script> participate in the e-commerce initiative?"
    results = evaluate(assistant, chosen, backend="extractive", progress=False)
    assert [r.passed for r in results] == [True, True]
    summary = report.summarise(results, rounds=50)
    assert summary["metrics"]["abstention_recall"]["value"] == 1.0
    assert summary["metrics"]["hit@1"]["value"] == 1.0
    paths = report.write(tmp_path, summary, results, {"backend": "extractive"})
    page = paths["html"].read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert json.loads(paths["json"].read_text())["results"][0]["id"] == "wto-members"


def test_bootstrap_interval_brackets_the_value(assistant):
    cases = gold.select(gold.load(GOLD, assistant.index.texts), "number")
    results = evaluate(assistant, cases, backend="extractive", progress=False)
    value = report.METRICS["fact_accuracy"](results)
    low, high = report.bootstrap(results, report.METRICS["fact_accuracy"], rounds=200)
    assert low <= value <= high and low < high


def test_gate_passes_on_the_baseline_and_fails_with_a_broken_retriever(seed_index_dir, tmp_path):
    ok = run("eval", "--backend", "extractive", "--check", "--out", str(tmp_path / "a"), index_dir=seed_index_dir)
    assert ok.returncode == 0, ok.stderr
    assert "gate passed" in ok.stdout
    broken = run("eval", "--backend", "extractive", "-k", "1", "--check", "--out", str(tmp_path / "b"), "--json",
                 "--junit", str(tmp_path / "junit.xml"), index_dir=seed_index_dir)
    assert broken.returncode == 1
    assert "REGRESSION" in broken.stderr and "fact_accuracy fell from" in broken.stderr
    scores = json.loads(broken.stdout)  # --json: stdout is one JSON object
    assert scores["regressions"] and scores["newly_failing"] and scores["passed"] < scores["cases"]
    suite = ElementTree.parse(tmp_path / "junit.xml").getroot()
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert int(suite.get("failures")) == len(failed) and "regression gate against the baseline" in failed
    assert any(name.startswith(f"{scores['newly_failing'][0]}: ") for name in failed)
    # It names the questions that went from pass to fail: real cases that passed in the baseline.
    named = re.findall(r"^\s+([\w-]+): now fails", broken.stderr, re.M)
    baseline = json.loads((ROOT / "eval" / "seeds" / "baseline.json").read_text())["extractive"]
    assert named and set(named) <= set(baseline["passed"])


def test_check_without_a_baseline_says_how_to_make_one(seed_index_dir, tmp_path):
    r = run("eval", "--backend", "extractive", "--subset", "ci", "--check", "--baseline", str(tmp_path / "none.json"), "--out", str(tmp_path / "r"), index_dir=seed_index_dir)
    assert r.returncode == 2 and "--update-baseline" in r.stderr


def test_eval_with_your_own_gold_file_works_from_any_folder(tmp_path, small_collection):
    import os
    import subprocess

    from test_cli import CITEQA

    gold_file = tmp_path / "my-gold.jsonl"
    gold_file.write_text("\n".join(json.dumps(case) for case in [
        {"id": "chair", "question": "Who chaired the meetings?", "answer": "Ambassador Kazuyuki Yamazaki of Japan.", "facts": [["Yamazaki"]],
         "evidence": [{"doc": "000_69525f96bd29f103.txt", "quote": "Ambassador Kazuyuki Yamazaki of Japan, who chaired the meetings"}], "tags": ["mine"]},
        {"id": "fifa", "question": "Who won the 2018 FIFA World Cup?", "answer": "", "facts": [], "evidence": [], "answerable": False, "tags": ["mine"]},
    ]) + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")} | {"HF_HUB_OFFLINE": "1", "CITEQA_SOURCES": str(small_collection)}
    args = [CITEQA, "--quiet", "--index-dir", str(tmp_path / "my.index"), "eval", "--gold", str(gold_file), "--backend", "extractive",
            "--out", "report", "--json"]
    r = subprocess.run(args, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    scores = json.loads(r.stdout)
    assert (scores["cases"], scores["passed"]) == (2, 2) and (elsewhere / "report" / "report.html").is_file()
