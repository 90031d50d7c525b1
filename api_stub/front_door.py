"""The front door: every dialect as an app of its own, and the router between them.

A request goes to the dialect that owns the longest prefix of its path (the native
dialect owns the rest). Inside, the dialect's app answers every error in the
dialect's shape: validation, unknown paths, wrong methods, an unreachable
database, an unexpected exception.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

import api_stub
from api_stub.dialect import Dialect
from api_stub.errors import ApiError, Internal, InvalidInput, Unavailable, from_status
from api_stub.gate import DATABASE_DOWN, Gate
from storage.blobs import BlobStoreUnavailable

log = logging.getLogger(__name__)


def discover() -> list[Dialect]:
    """Every dialect package of `api_stub`: a subpackage with a `dialect` module that
    exposes `DIALECT`."""
    found = []
    for module in pkgutil.iter_modules(api_stub.__path__):
        name = f"api_stub.{module.name}.dialect"
        if module.ispkg and importlib.util.find_spec(name) is not None:
            found.append(importlib.import_module(name).DIALECT)
    return found


def field_of(loc: tuple[object, ...]) -> str:
    """A validation error's location as a field name: `params.cpu_seconds`."""
    parts = [str(p) for p in loc if p not in ("body", "query", "header", "path")]
    return ".".join(parts) or "body"


def invalid_input(exc: RequestValidationError) -> InvalidInput:
    """The first thing wrong with a request, naming the field."""
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return InvalidInput("the body is not valid JSON", field="body")
    first = errors[0]
    field = field_of(tuple(first["loc"]))
    message = str(first["msg"]).removeprefix("Value error, ")
    details = [{"field": field_of(tuple(e["loc"])), "message": e["msg"]} for e in errors]
    return InvalidInput(f"{field}: {message}", field=field, details=details)


def install_error_handlers(app: FastAPI, dialect: Dialect) -> None:
    """Render every error raised in `app` in `dialect`'s shape; never leak a traceback."""

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return dialect.render(request, exc)

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return dialect.render(request, invalid_input(exc))

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        error = from_status(exc.status_code, str(exc.detail))
        error.headers.update(exc.headers or {})
        return dialect.render(request, error)

    async def database_down(request: Request, exc: Exception) -> Response:
        log.warning("database unavailable: %s", getattr(exc, "orig", exc))
        return dialect.render(request, Unavailable())

    async def blobs_down(request: Request, exc: Exception) -> Response:
        log.warning("blob store unavailable: %s", exc)
        return dialect.render(request, Unavailable())

    async def unstorable(request: Request, exc: Exception) -> Response:
        # The database refused a value the schemas let through: a NUL in text
        # (PostgreSQL), a lone surrogate (not UTF-8), a number past its column.
        log.info("unstorable value on %s %s: %s", request.method, request.url.path, exc)
        message = "a value holds characters or a size the farm cannot store (NUL, lone surrogates)"
        return dialect.render(request, InvalidInput(message))

    async def client_gone(request: Request, exc: Exception) -> Response:
        # Nobody is left to read the answer; what was half-received is discarded.
        log.info("client went away during %s %s", request.method, request.url.path)
        return dialect.render(request, InvalidInput("the client closed the connection"))

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return dialect.render(request, Internal())

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)
    for error_class in DATABASE_DOWN:
        app.add_exception_handler(error_class, database_down)
    app.add_exception_handler(BlobStoreUnavailable, blobs_down)
    app.add_exception_handler(DataError, unstorable)
    app.add_exception_handler(UnicodeEncodeError, unstorable)
    app.add_exception_handler(ClientDisconnect, client_gone)
    app.add_exception_handler(Exception, unexpected)


def dialect_app(dialect: Dialect) -> FastAPI:
    """The dialect's own app: its routes, its error shape, its gate, its OpenAPI."""
    app = FastAPI(
        title=dialect.title,
        version="0.1.0",
        openapi_url=dialect.openapi_url,
        docs_url=dialect.docs_url,
        redoc_url=None,
    )
    install_error_handlers(app, dialect)
    dialect.install(app)
    for router in dialect.routers():
        app.include_router(router)
    app.add_middleware(Gate, dialect=dialect)
    return app


def owns(prefix: str, path: str) -> bool:
    return prefix == "" or path == prefix or path.startswith(prefix + "/")


class FrontDoor:
    """Routes each request to the app of the dialect owning the longest prefix of its
    path; a dialect with a `mount` sees paths relative to it."""

    def __init__(self, dialects: list[Dialect]) -> None:
        apps = {d.name: dialect_app(d) for d in dialects}
        table = [(p, d, apps[d.name]) for d in dialects for p in d.prefixes]
        self.table = sorted(table, key=lambda row: len(row[0]), reverse=True)
        self.apps = apps

    def dialect_for(self, path: str) -> tuple[Dialect, ASGIApp]:
        for prefix, dialect, app in self.table:
            if owns(prefix, path):
                return dialect, app
        raise LookupError(f"no dialect owns {path}: declare one with the prefix ''")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        dialect, app = self.dialect_for(scope["path"])
        if dialect.mount:
            scope = {**scope, "root_path": scope.get("root_path", "") + dialect.mount}
        scope.setdefault("state", {})["dialect"] = dialect.name
        await app(scope, receive, send)


async def lifespan(receive: Receive, send: Send) -> None:
    """The dialects' apps keep no state to start or stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
