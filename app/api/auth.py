"""Access: with an API token set, every request must carry it (bearer header, or the cookie the login page sets)."""

from __future__ import annotations

import hmac

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse

COOKIE = "citeqa_token"
OPEN_PATHS = ("/login", "/api/health", "/static/")


def _presented(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE, "")


def allowed(request: Request, token: str) -> bool:
    if not token or request.url.path.startswith(OPEN_PATHS):
        return True
    return hmac.compare_digest(_presented(request).encode(), token.encode())


def refuse(request: Request):
    if request.url.path.startswith(("/api/", "/v1/")):
        return JSONResponse({"error": "authentication required: send Authorization: Bearer <CITEQA_API_TOKEN>"}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})
    return RedirectResponse("/login", status_code=303)
