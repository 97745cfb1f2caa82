"""The login page: trade the API token for an HttpOnly cookie, so a browser can use the pages."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ...assistant import Assistant
from ..auth import COOKIE
from ..deps import get_assistant
from .pages import templates

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request):
    return templates.TemplateResponse(request, "login.html", {"error": ""})


@router.post("/login")
def login(request: Request, token: str = Form(""), assistant: Assistant = Depends(get_assistant)):
    expected = assistant.settings.api_token
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return response
    return templates.TemplateResponse(request, "login.html", {"error": "That token is not right."}, status_code=401)
