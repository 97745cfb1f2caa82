"""The PostgreSQL store against a real PostgreSQL 18 with pgvector: the CLI, rankings equal to the embedded store, two servers, faults."""

import json
import os
import signal
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest

from app.assistant import Assistant
from app.evaluation import gold
from app.settings import Settings

from conftest import FED, ROOT, SEEDS, distinct_copy
from servers import Postgres, free_port, poll, running
from test_cli import CITEQA


@pytest.fixture(scope="session")
def postgres():
    # Not under pytest's tmp folder: that is private to root, and the server runs as its own user.
    folder = Path(tempfile.mkdtemp(prefix="citeqa-pg-"))
    pg = Postgres(folder)
    yield pg
    pg.stop()  # before its folder goes: the stop at exit would find no data folder and leave the server running
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database(postgres):
    """A fresh database for one test."""
    return postgres.create_database(f"t{uuid.uuid4().hex[:10]}")


def cli(*args, url: str, cwd: Path, sources=SEEDS, timeout=300, **kw):
    env = {**os.environ, "CITEQA_DATABASE_URL": url, "CITEQA_SOURCES": str(sources), "CITEQA_BACKEND": "extractive", "HF_HUB_OFFLINE": "1",
           "CITEQA_INDEX_DIR": str(cwd / "index"), "CITEQA_UPLOAD_DIR": str(cwd / "uploads")}
    return subprocess.run([CITEQA, "--quiet", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout, **kw)


def test_index_and_ask_through_postgres(database, tmp_path):
    built = cli("index", url=database, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    r = cli("ask", "What did FED propose?", "--json", url=database, cwd=tmp_path)
    answer = json.loads(r.stdout)
    assert "Access to financing" in answer["answer"]
    for item in answer["citations"] + answer["passages"]:
        assert (SEEDS / item["doc"]).read_text(encoding="utf-8")[item["start"] : item["end"]] == item["text"]
    assert not (tmp_path / "index").exists()  # nothing in the embedded store
    again = cli("index", url=database, cwd=tmp_path)
    assert again.returncode == 0 and "up to date" in again.stdout


def test_postgres_ranks_as_the_embedded_store(database, tmp_path, assistant, embedder):
    """BM25 in SQL and pgvector's exact cosine give the passages bm25s and FAISS give, on the seeds' gold questions."""
    pg = Assistant(Settings(database_url=database, sources=[SEEDS], backend="extractive", upload_dir=tmp_path / "none"), progress=False, embedder=embedder)
    pg.ensure_index()
    cases = gold.load(ROOT / "eval" / "seeds" / "gold.jsonl", assistant.index.texts)
    same = 0
    for case in cases:
        a = [p.passage_id for p in assistant.retrieve(case.question, 5).passages]
        b = [p.passage_id for p in pg.retrieve(case.question, 5).passages]
        same += a == b
    assert same >= 0.97 * len(cases), f"{same} of {len(cases)} rankings identical"
    term = "ewtp"
    assert abs(pg.index.idf(term) - assistant.index.idf(term)) < 1e-6 and pg.index.knows(term) and not pg.index.knows("zzzqqq")
    # What the answerers read, fetched by row and by name: the same chunks, texts and words as the embedded store's.
    rows = [0, len(assistant.index.chunks) // 2, len(assistant.index.chunks) - 1]
    assert [pg.index.chunks[r] for r in rows] == [assistant.index.chunks[r] for r in rows]
    doc = next(iter(assistant.index.documents))
    assert pg.index.texts[doc] == assistant.index.texts[doc] and pg.index.chunks_of(doc) == assistant.index.chunks_of(doc)
    assert pg.index.vocabulary == assistant.index.vocabulary
    for question in ("What rate is the French digital services tax?", "Who chaired the meetings in Zanzibar?"):
        assert pg.backend("extractive").unmentioned_names(pg.retrieve(question, 5)) == \
            assistant.backend("extractive").unmentioned_names(assistant.retrieve(question, 5))


def test_an_incremental_build_reads_nothing_back_of_the_documents_it_keeps(database, tmp_path, embedder, small_collection, monkeypatch):
    """An upload to a large collection writes one document version: the others are referenced, not read back."""
    from app.stores import postgres

    settings = Settings(database_url=database, sources=[small_collection], backend="extractive", upload_dir=tmp_path / "none")
    pg = Assistant(settings, progress=False, embedder=embedder)
    pg.ensure_index()
    (small_collection / "tern.md").write_text("# Tern memo\n\nThe Tern Accord sets a tariff of 4 percent on cross-border parcels.\n")

    def refuse(*args, **kwargs):
        raise AssertionError("a kept document was read back from the previous build")

    with monkeypatch.context() as m:
        for cls, name in ((postgres.PostgresIndex, "chunks_of"), (postgres._Rows, "__getitem__"), (postgres._Texts, "__getitem__")):
            m.setattr(cls, name, refuse)
        report = pg.update_index()
    assert report.embedded == ["tern.md"] and len(report.reused) == 3
    for question, doc in (("What tariff does the Tern Accord set?", "tern.md"), ("Who chaired the meetings?", "000_69525f96bd29f103.txt")):
        answer = pg.ask(question, backend="extractive")
        assert answer.citations and answer.citations[0].doc == doc
        for c in answer.citations:
            assert (small_collection / c.doc).read_text(encoding="utf-8")[c.start : c.end] == c.text


def test_a_database_of_schema_version_2_gains_its_words(database, tmp_path, embedder):
    import psycopg

    settings = Settings(database_url=database, sources=[SEEDS], backend="extractive", upload_dir=tmp_path / "none")
    before = Assistant(settings, progress=False, embedder=embedder)
    before.ensure_index()
    words = before.index.vocabulary
    with psycopg.connect(database, autocommit=True) as conn:  # as a citeqa of schema version 2 left it
        conn.execute("DROP TABLE citeqa_words")
        conn.execute("UPDATE citeqa_meta SET value = '2' WHERE key = 'schema_version'")
    after = Assistant(settings, progress=False, embedder=embedder)
    assert after.update_index() is None  # nothing rebuilt
    assert after.index.vocabulary == words


def test_a_build_of_an_older_format_is_embedded_again_not_kept(database, tmp_path, embedder, monkeypatch):
    """The same files under a new index format get that format's vectors: the document versions an
    older citeqa stored (here, with every chunk's vector spoiled) are not taken for the new ones."""
    import psycopg

    from app import ingest, manifest

    settings = Settings(database_url=database, sources=[SEEDS], backend="extractive", upload_dir=tmp_path / "none")
    with monkeypatch.context() as m:
        for module in (ingest, manifest):
            m.setattr(module, "FORMAT_VERSION", manifest.FORMAT_VERSION - 1)
        Assistant(settings, progress=False, embedder=embedder).ensure_index()
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("UPDATE citeqa_chunks SET embedding = (SELECT embedding FROM citeqa_chunks LIMIT 1)")
    now = Assistant(settings, progress=False, embedder=embedder)
    assert now.update_index() is not None
    with psycopg.connect(database, autocommit=True) as conn:
        distinct, n = conn.execute("SELECT count(DISTINCT c.embedding::text), count(*) FROM citeqa_chunks c JOIN citeqa_build_documents bd "
                                   "USING (key) WHERE bd.build = (SELECT build FROM citeqa_current)").fetchone()
    assert distinct == n == len(now.index.chunks)


def test_a_killed_build_leaves_the_previous_one_serving(database, tmp_path, small_collection):
    assert cli("index", url=database, cwd=tmp_path, sources=small_collection).returncode == 0
    for i in range(16):
        (small_collection / f"copy{i}.txt").write_text(distinct_copy(SEEDS / FED, i), encoding="utf-8")
    env = {**os.environ, "CITEQA_DATABASE_URL": database, "CITEQA_SOURCES": str(small_collection), "HF_HUB_OFFLINE": "1",
           "CITEQA_UPLOAD_DIR": str(tmp_path / "uploads")}
    proc = subprocess.Popen([CITEQA, "--quiet", "index"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(8)
    assert proc.poll() is None, "the build finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    for i in range(16):
        (small_collection / f"copy{i}.txt").unlink()
    docs = cli("docs", "--json", url=database, cwd=tmp_path, sources=small_collection)
    assert {d["doc"] for d in json.loads(docs.stdout)} == {p.name for p in small_collection.iterdir()}
    r = cli("ask", "Who chaired the meetings?", "--json", url=database, cwd=tmp_path, sources=small_collection)
    assert r.returncode == 0 and json.loads(r.stdout)["citations"]


def serve(url: str, home: Path, **settings):
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "CITEQA_DATABASE_URL": url, "CITEQA_SOURCES": str(SEEDS), "CITEQA_BACKEND": "extractive", "HF_HUB_OFFLINE": "1",
           "CITEQA_UPLOAD_DIR": str(home / "uploads"), "CITEQA_FOLLOW_SECONDS": "0.5", **{f"CITEQA_{k.upper()}": str(v) for k, v in settings.items()}}
    base = f"http://127.0.0.1:{port}"
    return base, running([CITEQA, "--quiet", "serve", "--port", str(port)], f"{base}/api/health", env=env, cwd=home, log_path=home / "server.log")


def test_two_servers_over_one_database(database, tmp_path):
    """B hears of A's build by NOTIFY: it would poll only once a minute."""
    assert cli("index", url=database, cwd=tmp_path).returncode == 0
    (base_a, a), (base_b, b) = serve(database, tmp_path / "a"), serve(database, tmp_path / "b", follow_seconds=60)
    with a, b:
        memo = "# Tern memo\n\nThe Tern Accord sets a tariff of 4 percent on cross-border parcels.\n"
        up = httpx.post(f"{base_a}/api/documents", files={"file": ("tern.md", memo.encode(), "text/markdown")}, timeout=120)
        assert up.status_code == 201, up.text
        question = {"question": "What tariff does the Tern Accord set?"}
        from_b = poll(lambda: httpx.post(f"{base_b}/api/ask", json=question, timeout=60).json(),
                      lambda b: bool(b["citations"]) and b["citations"][0]["doc"] == "tern.md", seconds=15)
        assert from_b["citations"][0]["doc"] == "tern.md" and "4 percent" in from_b["answer"]
        from_a = httpx.post(f"{base_a}/api/ask", json=question, timeout=60).json()
        assert (from_a["answer"], from_a["citations"]) == (from_b["answer"], from_b["citations"])


def test_citeqa_db_starts_a_postgresql_and_gives_urls(tmp_path):
    import psycopg

    folder = Path(tempfile.mkdtemp(prefix="citeqa-db-"))
    run = lambda *a: subprocess.run([CITEQA, "db", *a, "--dir", str(folder)], capture_output=True, text=True, timeout=120, cwd=tmp_path)  # noqa: E731
    try:
        started = run("start")
        assert started.returncode == 0, started.stderr
        assert started.stdout.startswith("export CITEQA_DATABASE_URL=") and "citeqa db stop" in started.stderr
        assert run("start").stdout == started.stdout  # already running: the same server
        url = run("url", "team")
        assert url.returncode == 0, url.stderr
        with psycopg.connect(url.stdout.strip(), autocommit=True) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == "team"
        assert run("url").returncode == 2
        assert run("stop").returncode == 0
        gone = run("url", "team")
        assert gone.returncode == 4 and "citeqa db start" in gone.stderr and "Traceback" not in gone.stderr
    finally:
        run("stop")
        shutil.rmtree(folder, ignore_errors=True)


def test_an_unreachable_database_is_a_clear_error_without_the_password(tmp_path):
    url = f"postgresql://citeqa:hunter2-secret@127.0.0.1:{free_port()}/citeqa"
    r = cli("ask", "What is eWTP?", url=url, cwd=tmp_path, timeout=120)
    assert r.returncode == 4, r.stderr
    assert "CITEQA_DATABASE_URL" in r.stderr and "hunter2" not in r.stderr + r.stdout and "Traceback" not in r.stderr


def test_the_database_lost_while_serving_is_503_then_recovers(tmp_path):
    pg = Postgres(Path(tempfile.mkdtemp(prefix="citeqa-pg-lost-")))
    try:
        url = pg.url()
        assert cli("index", url=url, cwd=tmp_path).returncode == 0
        base, server = serve(url, tmp_path / "s")
        with server:
            assert httpx.post(f"{base}/api/ask", json={"question": "What is eWTP?"}, timeout=60).status_code == 200
            pg.stop()
            r = httpx.post(f"{base}/api/ask", json={"question": "What is eWTP?"}, timeout=60)
            assert r.status_code == 503 and "CITEQA_DATABASE_URL" in r.json()["error"] and "Traceback" not in r.text
            pg.start()
            r = poll(lambda: httpx.post(f"{base}/api/ask", json={"question": "What is eWTP?"}, timeout=60), lambda r: r.status_code == 200)
            assert r.status_code == 200 and "Malaysia" in r.json()["answer"]
    finally:
        pg.server.cleanup()
        shutil.rmtree(pg.folder, ignore_errors=True)


def test_hnsw_in_postgres_finds_what_exact_search_finds(database, tmp_path, embedder):
    exact = Assistant(Settings(database_url=database, sources=[SEEDS], backend="extractive", upload_dir=tmp_path / "none"), progress=False, embedder=embedder)
    exact.ensure_index()
    hnsw = Assistant(Settings(database_url=database, sources=[SEEDS], backend="extractive", upload_dir=tmp_path / "none", faiss_index="hnsw"),
                     progress=False, embedder=embedder)
    hnsw.ensure_index()  # the setting makes the index stale: rebuilt with an HNSW index
    assert hnsw.index.manifest["dense_index"] == "hnsw" and hnsw.last_build is not None and not hnsw.last_build.embedded
    for question in ("What did FED propose?", "What is eWTP?", "Who chaired the WTO meetings?"):
        query = embedder.encode([question])[0]
        assert list(hnsw.index.dense_search(query, 5)[1]) == list(exact.index.dense_search(query, 5)[1])
