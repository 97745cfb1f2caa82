"""The HTTP side: a chat page, a document viewer, a JSON API and an OpenAI-compatible endpoint."""

from __future__ import annotations

import threading
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..assistant import Assistant
from ..index import IndexUnusable
from ..settings import Settings
from ..stores import StoreUnavailable
from ..vectorfile import VectorFileError
from ..stores.lazy import RecordFileError
from . import auth, deps, guard
from .routes import ask, documents, health, login, openai_compat, pages

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
# Pages run only the script we ship; nothing is fetched from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'self'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "SAMEORIGIN",
}


OPENAI_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error", 422: "invalid_request_error",
                      429: "rate_limit_error", 503: "server_error"}


def _error_body(request: Request, message: str, status: int) -> dict:
    """{"error": message}; under /v1, OpenAI's shape, so that OpenAI clients show the message."""
    if request.url.path.startswith("/v1/"):
        return {"error": {"message": message, "type": OPENAI_ERROR_TYPES.get(status, "server_error"), "code": status, "param": None}}
    return {"error": message}


def create_app(settings: Settings | None = None, assistant: Assistant | None = None, host: str = "127.0.0.1") -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Models and index load once, before the first request.
        app.state.assistant = assistant or deps.start_assistant(settings)
        app.state.queue = deps.GenerationQueue(settings.max_queue)
        stop = threading.Event()
        watcher = threading.Thread(target=deps.follow_builds, args=(app.state.assistant, stop, settings.follow_seconds), daemon=True, name="follow-builds")
        watcher.start()
        yield
        stop.set()

    app = FastAPI(
        title="citeqa", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url="/api/openapi.json",
        description="Answers questions over a document collection; every claim cited to an exact character span.",
    )


    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = "the request body could not be read: send JSON encoded as UTF-8"
        return JSONResponse(_error_body(request, detail, exc.status_code), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(VectorFileError)
    @app.exception_handler(RecordFileError)
    @app.exception_handler(IndexUnusable)
    @app.exception_handler(StoreUnavailable)
    async def index_unavailable(request: Request, exc: Exception):
        return JSONResponse({"error": f"the index cannot be read: {exc}"}, status_code=503, headers={"Retry-After": "10"})

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors())
        return JSONResponse(_error_body(request, f"invalid request: {problems}", 422), status_code=422)

    app.state.attempts = auth.Attempts()
    app.add_middleware(auth.Access, token=settings.api_token, attempts=app.state.attempts, headers=SECURITY_HEADERS)
    extra = tuple(h.strip().lower() for h in settings.allowed_hosts.split(",") if h.strip())
    # Added last, so outermost: nothing else runs for a request from a rebinding page or a cross-site form.
    app.add_middleware(guard.Guard, hosts=guard.HostPolicy(host, extra), upload_limit=settings.max_upload_bytes)

    import fastapi_offline

    # Only its files: Swagger UI 5, which reads OpenAPI 3.1 (the 4.x of swagger-ui-bundle rendered nothing).
    app.mount("/static/swagger", StaticFiles(directory=Path(fastapi_offline.__file__).parent / "static"), name="swagger")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (pages, login, ask, documents, health, openai_compat):
        app.include_router(module.router)
    return app
