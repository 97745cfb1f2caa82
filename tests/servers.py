"""Servers the tests talk to: a real llama.cpp OpenAI-compatible server, and a faulty one for fault injection."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def llama_server(model_path: str, threads: int = 2):
    """`python -m llama_cpp.server` on 127.0.0.1, ready when /v1/models answers."""
    port = free_port()
    log = tempfile.TemporaryFile()  # a pipe nobody reads would fill up and stall the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", model_path, "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "4096", "--n_threads", str(threads), "--model_alias", "qwen"],
        stdout=subprocess.DEVNULL, stderr=log,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"llama_cpp.server exited: {log.read().decode(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama_cpp.server did not come up within 180 s")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextmanager
def faulty_server(mode: str):
    """A chat-completions endpoint that misbehaves: "hang", "500", "garbage" or "bad-event"."""
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


def completion_text(base: str, prompt: str) -> str:
    r = httpx.post(f"{base}/chat/completions", json={"model": "qwen", "messages": [{"role": "user", "content": prompt}], "max_tokens": 8}, timeout=120)
    return json.loads(r.text)["choices"][0]["message"]["content"]


@contextmanager
def citeqa_server(index_dir, home, backend: str = "extractive"):
    """`citeqa serve` on 127.0.0.1 with a copy of an index, uploads kept under `home`."""
    import os
    import shutil
    from pathlib import Path

    from conftest import SEEDS

    shutil.copytree(index_dir, home / "index", symlinks=True)
    port = free_port()
    env = {**os.environ, "CITEQA_INDEX_DIR": str(home / "index"), "CITEQA_SOURCES": str(SEEDS), "CITEQA_UPLOAD_DIR": str(home / "uploads"),
           "CITEQA_BACKEND": backend, "HF_HUB_OFFLINE": "1"}
    log = open(home / "server.log", "w")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "citeqa"), "--quiet", "serve", "--port", str(port)], env=env, stdout=log, stderr=log, cwd=home)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((home / "server.log").read_text()[-3000:])
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
