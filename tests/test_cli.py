"""The `citeqa` command as a user runs it: a real process, real exit codes, real output."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FED, SEEDS

CITEQA = str(Path(sys.executable).parent / "citeqa")


def run(*args, index_dir, sources=SEEDS, stdin=None, backend="extractive"):
    env = {**os.environ, "CITEQA_INDEX_DIR": str(index_dir), "CITEQA_SOURCES": str(sources), "HF_HUB_OFFLINE": "1"}
    env.pop("CITEQA_BACKEND", None)
    if backend:
        env["CITEQA_BACKEND"] = backend
    return subprocess.run([CITEQA, "--quiet", *args], input=stdin, capture_output=True, text=True, env=env, timeout=300)


def test_ask_json_prints_the_contract(seed_index_dir):
    r = run("ask", "What did FED propose?", "--json", index_dir=seed_index_dir)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["backend"] == "extractive" and data["abstained"] is False
    assert "Access to financing" in data["answer"]
    for item in data["citations"] + data["passages"]:
        assert (SEEDS / item["doc"]).read_text(encoding="utf-8")[item["start"] : item["end"]] == item["text"]
    assert {"embed_query", "dense_search", "bm25", "answer", "total"} <= set(data["timings_ms"])


def test_ask_reads_one_question_per_line_from_stdin(seed_index_dir):
    questions = "What is eWTP?\n\nWho chaired the WTO meetings?\n" + "?" * 3000 + "\nWhat did the Federal Reserve propose?\n"
    r = run("ask", "-", "--json", index_dir=seed_index_dir, stdin=questions)
    results = [json.loads(line) for line in r.stdout.strip().splitlines()]
    assert [x.get("question", "")[:20] for x in results][:2] == ["What is eWTP?", "Who chaired the WTO "]
    assert "error" in results[2] and "limit" in results[2]["error"]
    assert results[3]["abstained"] is True
    assert r.returncode == 2  # one line was bad; the others were still answered


def test_index_json_says_what_was_done(tmp_path, small_collection):
    first = json.loads(run("index", "--json", index_dir=tmp_path / "index", sources=small_collection).stdout)
    assert first["changed"] and sorted(first["embedded"]) == sorted(p.name for p in small_collection.iterdir()) and first["errors"] == []
    (small_collection / "bad.txt").write_bytes(b"\xff\xfe\x00bad")
    second = run("index", "--json", index_dir=tmp_path / "index", sources=small_collection)
    data = json.loads(second.stdout)
    assert second.returncode == 1 and data["embedded"] == [] and len(data["reused"]) == 3 and "bad.txt" in data["errors"][0]


def test_a_question_piped_in_without_a_dash_is_answered(seed_index_dir):
    r = run("ask", "--json", index_dir=seed_index_dir, stdin="What is eWTP?\n")
    assert r.returncode == 0, r.stderr
    assert "Malaysia" in json.loads(r.stdout)["answer"]


def test_readable_answer_shows_numbered_sources(seed_index_dir):
    r = run("ask", "What did FED propose?", index_dir=seed_index_dir)
    assert r.returncode == 0, r.stderr
    sources = r.stdout.split("Sources:\n", 1)[1].splitlines()
    title = (SEEDS / FED).read_text(encoding="utf-8").split()[:3]  # the document's first line is its title
    assert sources[0].startswith("  [1] ") and sources[0].split()[1:4] == title
    assert sources[1].strip().startswith(f"{FED}, characters ") and f"(citeqa show {FED}:" in sources[1]


def test_show_and_docs(seed_index_dir):
    answer = json.loads(run("ask", "What did FED propose?", "--json", index_dir=seed_index_dir).stdout)
    pid = answer["citations"][0]["passage_id"]
    r = run("show", pid, "--json", index_dir=seed_index_dir)
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown["text"] == answer["citations"][0]["text"] or answer["citations"][0]["text"] in shown["text"]
    assert shown["context_before"] and shown["section"].endswith("Friends of E-Commerce for Development")

    r = run("show", "../../etc/passwd:0", index_dir=seed_index_dir)
    assert r.returncode == 3 and "no passage" in r.stderr

    r = run("docs", "--json", index_dir=seed_index_dir)
    assert sorted(d["doc"] for d in json.loads(r.stdout)) == sorted(p.name for p in SEEDS.glob("*.txt"))


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["ask", "   "], 2, "the question is empty"),
        (["ask", "What?", "--backend", "nonesuch"], 2, "unknown backend 'nonesuch'; available: extractive, local, openai"),
        (["ask", "What?", "-k", "0"], 2, "at least 1 passage"),
        (["index", "no/such/folder"], 2, "no/such/folder: no such file or folder"),
    ],
)
def test_bad_input_gets_a_clear_error_and_exit_code(tmp_path, args, code, message):
    r = run(*args, index_dir=tmp_path / "index")
    assert r.returncode == code
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "index" / "current").exists()


def test_index_reports_bad_files_and_indexes_the_rest(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEEDS / "002_59de855d1fbbee2d.txt", docs)
    (docs / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me".encode("latin-1"))
    (docs / "empty.md").write_bytes(b"")
    r = run("index", str(docs), index_dir=tmp_path / "index", sources=docs)
    assert r.returncode == 1
    assert "2 file(s) could not be indexed" in r.stderr
    assert "latin1.txt: not valid UTF-8" in r.stderr and "empty.md: the file is empty" in r.stderr
    assert "indexed 1 documents" in r.stdout
    r = run("ask", "What is CBEC?", "--json", index_dir=tmp_path / "index", sources=docs)
    assert json.loads(r.stdout)["citations"][0]["doc"] == "002_59de855d1fbbee2d.txt"


def test_default_backend_is_the_local_model_and_streams_a_cited_answer(seed_index_dir):
    r = run("ask", "What did FED propose?", index_dir=seed_index_dir, backend=None)
    assert r.returncode == 0, r.stderr
    assert "roadmap" in r.stdout and "[1]" in r.stdout
    assert "Sources:" in r.stdout and FED in r.stdout
    assert "Traceback" not in r.stderr


def test_history_file_makes_a_follow_up_understood(seed_index_dir, tmp_path):
    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"role": "user", "content": "What is eWTP?"}, {"role": "assistant", "content": "Alibaba's electronic world trade platform."}]))
    r = run("ask", "Where did it launch its first hub?", "--json", "--history", str(history), index_dir=seed_index_dir)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert "eWTP" in data["standalone_question"]
    assert "Malaysia" in data["answer"]
    history.write_text("{not json")
    r = run("ask", "Where?", "--history", str(history), index_dir=seed_index_dir)
    assert r.returncode == 2 and "not valid JSON" in r.stderr


@pytest.mark.parametrize("backend", ["extractive", "local"])
def test_chat_answers_questions_and_a_follow_up_in_one_process(seed_index_dir, backend):
    session = "What is eWTP?\nWhere did it launch its first hub?\n/show 1\n/new\nWhat did FED propose?\n/show 9\n/quit\nnever read\n"
    r = run("chat", index_dir=seed_index_dir, stdin=session, backend=backend)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("loading the index") == 1  # the models load once for the whole conversation
    first, follow_up, rest = r.stdout.split("Sources:", 2)[0], *r.stdout.split("Sources:", 2)[1:]
    assert "Electronic World Trade Platform" in first or "eWTP" in first
    assert "Malaysia" in follow_up  # "it" is eWTP: the conversation carried
    assert "»»" in rest and "««" in rest  # /show 1: the cited span, marked in its document
    assert "(a new conversation)" in rest and "Access to financing" in rest
    assert "/show N: N is one of" in rest and "never read" not in r.stdout


def test_outside_a_checkout_it_says_what_to_do_and_creates_nothing(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")} | {"HF_HUB_OFFLINE": "1"}
    r = subprocess.run([CITEQA, "ask", "What is eWTP?", "--backend", "extractive"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "no collection here" in r.stderr and "citeqa index PATH" in r.stderr and "--index-dir" in r.stderr
    assert list(tmp_path.iterdir()) == []  # no empty index/ left behind
