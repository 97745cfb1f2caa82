"""The login page: trade the API token for a signed session cookie, so a browser can use the pages; and logout."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ...assistant import Assistant
from ..auth import COOKIE, client_of, new_session, token_matches
from ..deps import get_assistant
from .pages import templates

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request):
    return templates.TemplateResponse(request, "login.html", {"error": ""})


@router.post("/login")
def login(request: Request, token: str = Form(""), assistant: Assistant = Depends(get_assistant)):
    settings, attempts = assistant.settings, request.app.state.attempts
    wait = attempts.retry_after(client_of(request))
    if wait:
        return templates.TemplateResponse(request, "login.html", {"error": f"Too many wrong tokens; try again in {wait} s."},
                                          status_code=429, headers={"Retry-After": str(wait)})
    if settings.api_token and token_matches(token.encode("utf-8"), settings.api_token):
        seconds = settings.session_hours * 3600
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, new_session(settings.api_token, seconds), max_age=int(seconds), httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
        return response
    attempts.failed(client_of(request))
    return templates.TemplateResponse(request, "login.html", {"error": "That token is not right."}, status_code=401)


@router.post("/logout")
def logout():
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, httponly=True, samesite="strict")
    return response
