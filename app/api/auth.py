"""Access: with an API token set, every request must carry it (bearer header) or a session the login page signed.

The session cookie holds an expiry and its HMAC under a key derived from the token, never the
token itself: it dies at its expiry, on logout (the cookie is cleared), and for every browser at
once when the token changes. Servers sharing a token accept each other's sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "citeqa_session"
OPEN_PATHS = ("/login", "/api/health", "/static/")


def _bytes(token: str) -> bytes:
    return token.encode("utf-8")


def _bearer(request: Request) -> bytes | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    # Starlette decodes header bytes as Latin-1; a UTF-8 token is the bytes the client sent.
    return header[7:].strip().encode("latin-1")


def token_matches(presented: bytes, token: str) -> bool:
    return hmac.compare_digest(presented, _bytes(token))


def _key(token: str) -> bytes:
    return hashlib.sha256(b"citeqa-session\0" + _bytes(token)).digest()


def new_session(token: str, seconds: float) -> str:
    expires = str(int(time.time() + seconds))
    return f"{expires}.{hmac.new(_key(token), expires.encode(), hashlib.sha256).hexdigest()}"


def session_valid(value: str, token: str) -> bool:
    expires, _, mac = value.partition(".")
    if not expires.isdigit() or int(expires) < time.time():
        return False
    return hmac.compare_digest(mac.encode(), hmac.new(_key(token), expires.encode(), hashlib.sha256).hexdigest().encode())


class Attempts:
    """Failed sign-ins per client address: after `limit` within `window` seconds, the address waits."""

    def __init__(self, limit: int = 10, window: float = 60.0):
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """Seconds until `client` may try again; 0 if it may now."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(client)
            while failures and failures[0] < now - self.window:
                failures.popleft()
            if not failures or len(failures) < self.limit:
                return 0
            return max(1, int(failures[0] + self.window - now + 1))

    def failed(self, client: str) -> None:
        with self._lock:
            self._failures.setdefault(client, deque()).append(time.monotonic())


def client_of(request: Request) -> str:
    return request.client.host if request.client else "?"


def check(request: Request, token: str, attempts: Attempts):
    """None if the request may go on, else the response that refuses it."""
    if not token or request.url.path.startswith(OPEN_PATHS):
        return None
    presented = _bearer(request)
    if presented is None:
        if session_valid(request.cookies.get(COOKIE, ""), token):
            return None
        return refuse(request)
    wait = attempts.retry_after(client_of(request))
    if wait:
        return too_many(wait)
    if token_matches(presented, token):
        return None
    attempts.failed(client_of(request))
    return refuse(request)


def too_many(wait: int) -> JSONResponse:
    return JSONResponse({"error": f"too many wrong tokens from this address; try again in {wait} s"}, status_code=429,
                        headers={"Retry-After": str(wait)})


def refuse(request: Request):
    message = "authentication required: send Authorization: Bearer <CITEQA_API_TOKEN>"
    if request.url.path.startswith("/v1/"):  # OpenAI's error shape, as the rest of /v1
        return JSONResponse({"error": {"message": message, "type": "authentication_error", "code": 401, "param": None}}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return RedirectResponse("/login", status_code=303)


class Access:
    """Refuses requests without the token or a session (when a token is set); adds `headers` to every response.

    Plain ASGI rather than an "http" middleware: that one wraps the request body in a task, and
    turns the upload limit's 413 into a 400."""

    def __init__(self, app: ASGIApp, token: str, attempts: Attempts, headers: dict[str, str]):
        self.app, self.token, self.attempts, self.headers = app, token, attempts, headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for k, v in self.headers.items():
                    headers.setdefault(k, v)
            await send(message)

        refused = check(Request(scope), self.token, self.attempts)
        await (refused or self.app)(scope, receive, with_headers)
