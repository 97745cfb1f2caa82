"""The shared store: builds in PostgreSQL, vectors in pgvector, BM25 computed in SQL; selected by CITEQA_DATABASE_URL.

Several servers and builders can share one database. Tables (schema version in citeqa_meta):

    citeqa_documents        one row per document *version* (its key: name, file sha256, model, chunking)
                            with its text, the one offsets refer to; shared by every build that holds it
    citeqa_chunks           (key, n): a chunk's JSON, its length in terms, its vector(384)
    citeqa_sentences        (key, n): a sentence's vector(384)
    citeqa_postings         (key, n, term, tf, length): the chunk's stemmed terms (lexical.tokenize) and its length, for BM25
    citeqa_words            (key, word): the document's distinct words (lexical.words), for names spelled another way
    citeqa_builds           a build: its manifest
    citeqa_build_documents  (build, name): which document versions a build holds, at which rows
    citeqa_current          the one current build

A build is published in one transaction: the versions it adds (only new or changed documents
are written), its rows, and the switch of citeqa_current; a builder killed before the commit
leaves the previous build current. Builders take an advisory lock in turn. BM25 is the formula
bm25s uses (Lucene's idf and tf saturation, k1 1.5, b 0.75) over the same terms, so the two
stores rank alike.

A server holds none of the chunks and texts: each is fetched when a question needs it and kept
in a bounded cache, so a server's memory does not grow with the collection. A publish sends
NOTIFY citeqa_builds; servers LISTEN and switch at once (polling stays as the fallback).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import sys
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Mapping
from contextlib import contextmanager
from functools import cached_property
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from ..index import Index, vocabulary_of
from ..storage import IndexLockedError
from .. import lexical
from . import Store, StoreUnavailable
from .lazy import Rows

SCHEMA_VERSION = 3  # 3: citeqa_words, the covering index of postings
CHANNEL = "citeqa_builds"  # NOTIFY at every publish
CACHED_CHUNKS, CACHED_TEXTS = 4096, 64
LOCK_KEY = 0x63697465_7161  # "citeqa": the advisory lock builders share
K1, B = 1.5, 0.75  # bm25s's defaults
DIMENSION = 384
HNSW_EF_SEARCH = 256  # as the embedded store's (stores/folder.py)

SCHEMA = [
    "CREATE EXTENSION IF NOT EXISTS vector",
    "CREATE TABLE IF NOT EXISTS citeqa_meta (key text PRIMARY KEY, value text NOT NULL)",
    """CREATE TABLE IF NOT EXISTS citeqa_documents (
        key text PRIMARY KEY, name text NOT NULL, text text NOT NULL, entry jsonb NOT NULL)""",
    f"""CREATE TABLE IF NOT EXISTS citeqa_chunks (
        key text NOT NULL REFERENCES citeqa_documents ON DELETE CASCADE, n int NOT NULL,
        data jsonb NOT NULL, length int NOT NULL, embedding vector({DIMENSION}) NOT NULL, PRIMARY KEY (key, n))""",
    # The vector inline in the row, the chunk's JSON out of line: an exact scan then reads no TOAST.
    "ALTER TABLE citeqa_chunks ALTER COLUMN embedding SET STORAGE PLAIN",
    "ALTER TABLE citeqa_chunks ALTER COLUMN data SET STORAGE EXTERNAL",
    f"""CREATE TABLE IF NOT EXISTS citeqa_sentences (
        key text NOT NULL REFERENCES citeqa_documents ON DELETE CASCADE, n int NOT NULL,
        embedding vector({DIMENSION}) NOT NULL, PRIMARY KEY (key, n))""",
    """CREATE TABLE IF NOT EXISTS citeqa_postings (
        key text NOT NULL REFERENCES citeqa_documents ON DELETE CASCADE, n int NOT NULL, term text NOT NULL, tf int NOT NULL,
        length int NOT NULL)""",
    # Covering: BM25 reads a term's postings from the index alone (an index-only scan), never the table.
    "CREATE INDEX IF NOT EXISTS citeqa_postings_terms ON citeqa_postings (term) INCLUDE (key, n, tf, length)",
    """CREATE TABLE IF NOT EXISTS citeqa_words (
        key text NOT NULL REFERENCES citeqa_documents ON DELETE CASCADE, word text NOT NULL, PRIMARY KEY (key, word))""",
    "CREATE TABLE IF NOT EXISTS citeqa_builds (id bigserial PRIMARY KEY, created timestamptz NOT NULL DEFAULT now(), manifest jsonb NOT NULL)",
    """CREATE TABLE IF NOT EXISTS citeqa_build_documents (
        build bigint NOT NULL REFERENCES citeqa_builds ON DELETE CASCADE, name text NOT NULL,
        key text NOT NULL REFERENCES citeqa_documents, row0 int NOT NULL, s0 int NOT NULL, PRIMARY KEY (build, name))""",
    "CREATE INDEX IF NOT EXISTS citeqa_build_documents_key ON citeqa_build_documents (key)",
    """CREATE TABLE IF NOT EXISTS citeqa_current (
        one boolean PRIMARY KEY DEFAULT true CHECK (one), build bigint NOT NULL REFERENCES citeqa_builds)""",
]


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def document_key(name: str, entry: dict, manifest: dict) -> str:
    """A document version: the same file, chunked and embedded the same way, is stored once. The
    format is part of the key: a new format may make vectors differently from the same model."""
    basis = json.dumps([name, entry["sha256"], manifest["model"]["sha256"], manifest["chunking"], manifest["format"]], sort_keys=True)
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


class DatabaseUnavailable(StoreUnavailable):
    """The database cannot be reached or used; the message names CITEQA_DATABASE_URL."""


class PostgresStore(Store):
    def __init__(self, url: str, pool_size: int = 4):
        self.url = url
        self.pool_size = pool_size
        self._pool = None
        self._listener = None  # the connection that LISTENs for new builds (wait_for_build)

    def describe(self) -> str:
        return f"PostgreSQL at {redact(self.url)}"

    # connections -----------------------------------------------------------------------

    @property
    def pool(self):
        if self._pool is None:
            try:
                import psycopg
                from pgvector.psycopg import register_vector
                from psycopg_pool import ConnectionPool
            except ImportError:
                raise DatabaseUnavailable('CITEQA_DATABASE_URL is set but psycopg is not installed: pip install -e ".[postgres]"') from None
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                    self._migrate(conn)  # before the pool: its connections need the vector type to exist
            except psycopg.Error as e:
                raise DatabaseUnavailable(f"cannot use the database in CITEQA_DATABASE_URL ({redact(self.url)}): {_reason(e)}") from None
            # Checked on checkout: after the database restarts, a dead connection is replaced, not handed out.
            # Vectors travel as binary float32 (pgvector's adapter), not as text.
            pool = ConnectionPool(self.url, min_size=1, max_size=self.pool_size, open=False, timeout=10, kwargs={"autocommit": True},
                                  check=ConnectionPool.check_connection, configure=register_vector)
            try:
                pool.open(wait=True, timeout=10)
            except Exception as e:  # noqa: BLE001 - psycopg's errors name the cause; the URL's password is not in them
                pool.close()
                raise DatabaseUnavailable(f"cannot connect to the database in CITEQA_DATABASE_URL ({redact(self.url)}): {_reason(e)}") from None
            self._pool = pool
        return self._pool

    @contextmanager
    def _connection(self):
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self.pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as e:  # PoolTimeout: no connection could be made
            raise DatabaseUnavailable(f"the database in CITEQA_DATABASE_URL ({redact(self.url)}) is unavailable: {_reason(e)}") from None

    def _migrate(self, conn) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY + 1,))
            for statement in SCHEMA:
                conn.execute(statement)
            row = conn.execute("SELECT value FROM citeqa_meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                conn.execute("INSERT INTO citeqa_meta VALUES ('schema_version', %s)", (str(SCHEMA_VERSION),))
            elif int(row[0]) == 2:  # the words of documents stored before version 3, from their chunks
                conn.execute("DROP INDEX IF EXISTS citeqa_postings_term")
                for (key,) in conn.execute("SELECT key FROM citeqa_documents").fetchall():
                    texts = [t for (t,) in conn.execute("SELECT data->>'index_text' FROM citeqa_chunks WHERE key = %s", (key,))]
                    _write_words(conn, key, texts)
                conn.execute("UPDATE citeqa_meta SET value = %s WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
            elif int(row[0]) != SCHEMA_VERSION:
                raise DatabaseUnavailable(f"the database holds citeqa schema version {row[0]}, this citeqa uses {SCHEMA_VERSION}; "
                                          "use a citeqa of that version, or a new database")

    # the interface ---------------------------------------------------------------------

    @contextmanager
    def lock(self, wait_seconds: float = 600.0):
        with self._connection() as conn:
            deadline = time.monotonic() + wait_seconds
            while not conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
                if time.monotonic() >= deadline:
                    raise IndexLockedError(f"{self.describe()} is being built by another process; try again when it has finished")
                time.sleep(0.2)
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))

    def current_id(self) -> str | None:
        with self._connection() as conn:
            row = conn.execute("SELECT build FROM citeqa_current").fetchone()
        return str(row[0]) if row else None

    def manifest(self) -> dict | None:
        with self._connection() as conn:
            row = conn.execute("SELECT b.manifest FROM citeqa_current c JOIN citeqa_builds b ON b.id = c.build").fetchone()
        return row[0] if row else None

    def verify(self) -> None:
        return None  # the database's own integrity; a build is whole or was never committed

    def open(self) -> "PostgresIndex | None":
        with self._connection() as conn:
            row = conn.execute("SELECT b.id, b.manifest FROM citeqa_current c JOIN citeqa_builds b ON b.id = c.build").fetchone()
            if row is None:
                return None
            return self._open(conn, *row)

    def _open(self, conn, build: int, manifest: dict) -> "PostgresIndex":
        placement = [tuple(r) for r in conn.execute(
            "SELECT bd.name, bd.key, bd.row0, bd.s0 FROM citeqa_build_documents bd WHERE bd.build = %s ORDER BY bd.row0", (build,))]
        n, avgdl = conn.execute(self._STATS, (build,)).fetchone()
        # Counted from the sentence vectors' keys (an index scan), not from every chunk's JSON.
        (n_sentences,) = conn.execute("SELECT count(*) FROM citeqa_build_documents bd JOIN citeqa_sentences s USING (key) WHERE bd.build = %s",
                                      (build,)).fetchone()
        return PostgresIndex(self, int(build), manifest, placement, int(n), float(avgdl), int(n_sentences))

    def wait_for_build(self, seconds: float, stop: threading.Event) -> None:
        """Return when a build is published (NOTIFY), or after `seconds`: the poll after it covers a lost notification."""
        import psycopg

        try:
            if self._listener is None or self._listener.closed:
                self._listener = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
                self._listener.execute(f"LISTEN {CHANNEL}")
            for _ in self._listener.notifies(timeout=seconds, stop_after=1):
                pass
        except psycopg.Error:  # the database is down: the caller's poll reports it; wait as a poll would
            if self._listener is not None:
                self._listener.close()
            self._listener = None
            stop.wait(seconds)

    _STATS = "SELECT count(*), coalesce(avg(c.length), 0) FROM citeqa_build_documents bd JOIN citeqa_chunks c USING (key) WHERE bd.build = %s"

    def publish(self, build, stages: dict[str, float]) -> "PostgresIndex":
        t = time.perf_counter()
        manifest = build.manifest
        with self._connection() as conn:
            with conn.transaction():
                new_build = conn.execute("INSERT INTO citeqa_builds (manifest) VALUES (%s) RETURNING id", (json.dumps(manifest),)).fetchone()[0]
                row0 = s0 = 0
                for part in build.parts:
                    key = document_key(part.name, part.entry, manifest)
                    # A document version the database holds is referenced, never read back from the previous build.
                    if not conn.execute("SELECT 1 FROM citeqa_documents WHERE key = %s", (key,)).fetchone():
                        self._write_document(conn, key, part)
                    conn.execute("INSERT INTO citeqa_build_documents VALUES (%s, %s, %s, %s, %s)", (new_build, part.name, key, row0, s0))
                    row0 += part.entry["chunks"]
                    s0 += part.sentences
                conn.execute("INSERT INTO citeqa_current (one, build) VALUES (true, %s) ON CONFLICT (one) DO UPDATE SET build = excluded.build",
                             (new_build,))
                # Builds replaced in the last minutes stay (a server reads one until it has followed); older ones go,
                # and the document versions only they held.
                conn.execute("DELETE FROM citeqa_builds WHERE id <> %s AND created < now() - interval '10 minutes'", (new_build,))
                conn.execute("DELETE FROM citeqa_documents d WHERE NOT EXISTS (SELECT 1 FROM citeqa_build_documents bd WHERE bd.key = d.key)")
                if manifest.get("dense_index") == "hnsw":  # built once, then kept up to date by every insert
                    conn.execute("CREATE INDEX IF NOT EXISTS citeqa_chunks_hnsw ON citeqa_chunks USING hnsw (embedding vector_cosine_ops) "
                                 "WITH (m = 32, ef_construction = 128)")
                conn.execute(f"NOTIFY {CHANNEL}, '{int(new_build)}'")  # delivered at the commit
                index = self._open(conn, int(new_build), manifest)
            # The new rows into the visibility map (index-only scans of the postings) and the planner's
            # statistics; cheap after a small build: pages already all-visible are skipped.
            # The build is published by now: a failure here costs speed until autovacuum runs, not the build.
            import psycopg

            try:
                conn.execute("VACUUM (ANALYZE) citeqa_postings, citeqa_build_documents, citeqa_chunks, citeqa_sentences, citeqa_words")
            except psycopg.Error as e:
                print(f"warning: VACUUM after the publish failed ({_reason(e)}); autovacuum will do it", file=sys.stderr)
        stages["save"] = time.perf_counter() - t
        return index

    def _write_document(self, conn, key: str, part) -> None:
        chunks, vectors, sentence_vectors, text = part.load()
        conn.execute("INSERT INTO citeqa_documents VALUES (%s, %s, %s, %s)", (key, part.name, text, json.dumps(part.entry)))
        from psycopg.types.json import Jsonb

        terms = [lexical.tokenize(c["index_text"]) for c in chunks]
        with conn.cursor() as cur:
            with cur.copy("COPY citeqa_chunks (key, n, data, length, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["text", "int4", "jsonb", "int4", "vector"])
                for n, c in enumerate(chunks):
                    copy.write_row((key, n, Jsonb(c), len(terms[n]), np.asarray(vectors[n], dtype=np.float32)))
            with cur.copy("COPY citeqa_sentences (key, n, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["text", "int4", "vector"])
                for n, v in enumerate(np.asarray(sentence_vectors, dtype=np.float32)):
                    copy.write_row((key, n, v))
            with cur.copy("COPY citeqa_postings (key, n, term, tf, length) FROM STDIN") as copy:
                for n, chunk_terms in enumerate(terms):
                    for term, tf in Counter(chunk_terms).items():
                        copy.write_row((key, n, term, tf, len(chunk_terms)))
        _write_words(conn, key, [c["index_text"] for c in chunks])


def _write_words(conn, key: str, texts: list[str]) -> None:
    with conn.cursor() as cur, cur.copy("COPY citeqa_words (key, word) FROM STDIN") as copy:
        for word in vocabulary_of(texts):
            copy.write_row((key, word))


def _reason(error: Exception) -> str:
    return " ".join(str(error).split())[:300] or error.__class__.__name__


class _Rows:
    """A build's chunk or sentence vectors, fetched from the database by row."""

    def __init__(self, index: "PostgresIndex", table: str, first: int, rows: int):
        self.index, self.table, self.rows = index, table, rows
        self.starts = [p[first] for p in index.placement]  # each document's first row (first: 2 chunks, 3 sentences)

    def __len__(self) -> int:
        return self.rows

    def locate(self, row: int) -> tuple[int, int]:
        """(the document's place in the build, the row within the document)."""
        i = bisect.bisect_right(self.starts, row) - 1
        return i, row - self.starts[i]

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, slice):
            key = range(*key.indices(len(self)))
        rows = [int(r) for r in np.asarray(list(key) if isinstance(key, range) else key, dtype=np.int64).reshape(-1)]
        out = np.zeros((len(rows), DIMENSION), dtype=np.float32)
        if not rows:
            return out
        keys, ns = [], []
        for r in rows:
            i, n = self.locate(r)
            keys.append(self.index.placement[i][1])
            ns.append(n)
        with self.index.store._connection() as conn, conn.cursor(binary=True) as cur:
            found = {(k, n): v for k, n, v in cur.execute(
                f"SELECT t.key, t.n, t.embedding FROM {self.table} t JOIN unnest(%s::text[], %s::int[]) AS q(key, n) "
                "ON t.key = q.key AND t.n = q.n", (keys, ns))}
        for i, (k, n) in enumerate(zip(keys, ns)):
            out[i] = found[(k, n)].to_numpy()
        return out


class _Cache:
    """The last `size` values fetched, by key; shared by the threads of a server."""

    def __init__(self, size: int):
        self.size, self._items, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, key, fetch):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = fetch()
        self.put(key, value)
        return value

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class _Chunks(Rows):
    """The build's chunks by row, fetched when asked for: a server holds only those questions read."""

    def __init__(self, index: "PostgresIndex"):
        self.index = index
        self._cache = _Cache(CACHED_CHUNKS)

    def __len__(self) -> int:
        return self.index.vectors.rows

    def _chunk(self, row: int) -> dict:
        return self._cache.get(row, lambda: self._fetch(row))

    def _fetch(self, row: int) -> dict:
        i, n = self.index.vectors.locate(row)
        _, key, _, s0 = self.index.placement[i]
        with self.index.store._connection() as conn:
            (data,) = conn.execute("SELECT data FROM citeqa_chunks WHERE key = %s AND n = %s", (key, n)).fetchone()
        data["s0"] += s0
        return data

    def of_document(self, i: int) -> list[dict]:
        """All chunks of the build's i-th document, in one query."""
        _, key, row0, s0 = self.index.placement[i]
        with self.index.store._connection() as conn:
            chunks = [data for (data,) in conn.execute("SELECT data FROM citeqa_chunks WHERE key = %s ORDER BY n", (key,))]
        for n, data in enumerate(chunks):
            data["s0"] += s0
            self._cache.put(row0 + n, data)
        return chunks


class _Texts(Mapping):
    """Document name -> its text, fetched when asked for."""

    def __init__(self, index: "PostgresIndex"):
        self.index = index
        self._key = {name: key for name, key, _, _ in index.placement}
        self._cache = _Cache(CACHED_TEXTS)

    def __getitem__(self, name: str) -> str:
        key = self._key[name]
        return self._cache.get(name, lambda: self._fetch(key))

    def _fetch(self, key: str) -> str:
        with self.index.store._connection() as conn:
            return conn.execute("SELECT text FROM citeqa_documents WHERE key = %s", (key,)).fetchone()[0]

    def __iter__(self):
        return iter(self._key)

    def __len__(self) -> int:
        return len(self._key)


class PostgresIndex(Index):
    def __init__(self, store: PostgresStore, build: int, manifest: dict, placement: list[tuple[str, str, int, int]],
                 n_chunks: int, avgdl: float, n_sentences: int):
        self.store, self.build = store, build
        self.placement = placement  # (name, document key, first chunk row, first sentence row), in row order
        self.n, self.avgdl = n_chunks, avgdl
        self._row0 = {key: row0 for _, key, row0, _ in placement}
        self._place = {name: i for i, (name, *_) in enumerate(placement)}
        self.vectors = _Rows(self, "citeqa_chunks", 2, n_chunks)
        self.sentence_vectors = _Rows(self, "citeqa_sentences", 3, n_sentences)
        super().__init__(str(build), manifest, _Chunks(self), _Texts(self))
        self._df: dict[str, int] = {}

    def chunks_of(self, doc: str) -> list[dict]:
        return self.chunks.of_document(self._place[doc]) if doc in self._place else []

    def sentence_count(self, doc: str) -> int:
        i = self._place[doc]
        return (self.placement[i + 1][3] if i + 1 < len(self.placement) else len(self.sentence_vectors)) - self.placement[i][3]

    @cached_property
    def vocabulary(self) -> list[str]:
        with self.store._connection() as conn:
            return [w for (w,) in conn.execute(
                "SELECT DISTINCT word COLLATE \"C\" AS w FROM citeqa_words WHERE key IN (SELECT key FROM citeqa_build_documents WHERE build = %s) ORDER BY w",
                (self.build,))]

    def dense_search(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact cosine below manifest.FLAT_LIMIT chunks (as the embedded store); above, pgvector's HNSW index."""
        if not self.n:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        q = np.asarray(query, dtype=np.float32)
        with self.store._connection() as conn, conn.transaction():
            if self.manifest.get("dense_index") == "hnsw":
                # The index orders every stored chunk; rows of document versions this build does not hold
                # (kept a few minutes for servers still on an older build) are dropped here, asking for more if need be.
                conn.execute(f"SET LOCAL hnsw.ef_search = {HNSW_EF_SEARCH}")
                limit, rows = 2 * n, []
                while True:
                    found = conn.execute("SELECT key, n, 1 - (embedding <=> %s) FROM citeqa_chunks ORDER BY embedding <=> %s LIMIT %s",
                                         (q, q, limit)).fetchall()
                    rows = [r for r in found if r[0] in self._row0]
                    if len(rows) >= n or len(found) < limit:
                        break
                    limit *= 4
            else:
                rows = conn.execute(
                    "SELECT key, n, 1 - (embedding <=> %s) FROM citeqa_chunks WHERE key IN (SELECT key FROM citeqa_build_documents WHERE build = %s) "
                    "ORDER BY embedding <=> %s, key, n LIMIT %s", (q, self.build, q, n)).fetchall()
        found = sorted((-s, self._row0[k] + m) for k, m, s in rows)[:n]
        return np.array([-s for s, _ in found], dtype=np.float32), np.array([r for _, r in found], dtype=np.int64)

    def _document_frequencies(self, terms: list[str]) -> dict[str, int]:
        unknown = [t for t in set(terms) if t not in self._df]
        if unknown:
            with self.store._connection() as conn:
                found = dict(conn.execute(
                    "SELECT term, count(*) FROM citeqa_postings WHERE term = ANY(%s) "
                    "AND key IN (SELECT key FROM citeqa_build_documents WHERE build = %s) GROUP BY term", (unknown, self.build)).fetchall())
            for t in unknown:
                self._df[t] = int(found.get(t, 0))
        return {t: self._df[t] for t in terms}

    def bm25_scores(self, terms: list[str]) -> np.ndarray:
        scores = np.zeros(self.n, dtype=np.float32)
        if not self.n or not terms:
            return scores
        df = self._document_frequencies(terms)
        weights = {t: self._idf(df[t]) for t in set(terms) if df[t]}
        if not weights:
            return scores
        # Each occurrence of a term in the query counts, as in bm25s.
        names = list(weights)
        counts = [terms.count(t) for t in names]
        with self.store._connection() as conn, conn.cursor(binary=True) as cur:
            rows, values = cur.execute(
                "SELECT coalesce(array_agg(r), '{}'), coalesce(array_agg(s), '{}') FROM ("
                "SELECT bd.row0 + p.n AS r, sum(q.w * q.c * p.tf / (p.tf + %s * (1 - %s + %s * p.length / %s)))::float4 AS s "
                "FROM unnest(%s::text[], %s::float8[], %s::int[]) AS q(term, w, c) JOIN citeqa_postings p ON p.term = q.term "
                "JOIN citeqa_build_documents bd ON bd.key = p.key AND bd.build = %s GROUP BY 1) t",
                (K1, B, B, self.avgdl or 1.0, names, [weights[t] for t in names], counts, self.build)).fetchone()
        scores[np.asarray(rows, dtype=np.int64)] = np.asarray(values, dtype=np.float32)
        return scores

    def _idf(self, df: int) -> float:
        return math.log(1 + (max(self.n, 1) - df + 0.5) / (df + 0.5))

    def idf(self, term: str) -> float:
        return self._idf(self._document_frequencies([term])[term])

    def knows(self, term: str) -> bool:
        return self._document_frequencies([term])[term] > 0
