"""The HTTP side: a chat page, a document viewer, a JSON API and an OpenAI-compatible endpoint."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..assistant import Assistant
from ..settings import Settings
from . import auth, deps
from .routes import ask, documents, health, login, openai_compat, pages

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
# Pages run only the script we ship; nothing is fetched from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'self'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "SAMEORIGIN",
}


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Models and index load once, before the first request.
        app.state.assistant = assistant or deps.start_assistant(settings)
        app.state.queue = deps.GenerationQueue(settings.max_queue)
        yield

    app = FastAPI(
        title="citeqa", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url="/api/openapi.json",
        description="Answers questions over a document collection; every claim cited to an exact character span.",
    )

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request) if auth.allowed(request, settings.api_token) else auth.refuse(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = "the request body could not be read: send JSON encoded as UTF-8"
        return JSONResponse({"error": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"error": f"invalid request: {problems}"}, status_code=422)

    import swagger_ui_bundle

    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (pages, login, ask, documents, health, openai_compat):
        app.include_router(module.router)
    return app
