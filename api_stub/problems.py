"""RFC 9457 problem details: one exception type, and the handlers that render errors."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Problem(Exception):
    """An error the API answers with a problem+json body."""

    def __init__(
        self,
        status: int,
        detail: str,
        slug: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status, self.detail, self.errors, self.headers = status, detail, errors, headers
        self.slug = slug or TITLES.get(status, "error").lower().replace(" ", "-")
        super().__init__(detail)


def field_error(status: int, field: str, message: str) -> Problem:
    return Problem(
        status,
        f"{field}: {message}",
        "validation-error",
        errors=[{"field": field, "message": message}],
    )


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{problem.slug}",
        "title": TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
    }
    if problem.errors:
        body["errors"] = problem.errors
    return JSONResponse(
        body, status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers
    )


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "header", "path")]
    return ".".join(parts) or str(loc[0] if loc else "body")


def validation_problem(exc: RequestValidationError) -> Problem:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return field_error(400, "body", "malformed JSON")
    fields = [{"field": _field_name(tuple(e["loc"])), "message": e["msg"]} for e in errors]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return Problem(422, detail, "validation-error", errors=fields)


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error, expected or not, as problem+json; never leak a traceback."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(request, validation_problem(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(request, Problem(exc.status_code, str(exc.detail)))

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", exc.orig)
        return problem_response(
            request,
            Problem(
                503,
                "the database is unavailable; try again shortly",
                "unavailable",
                headers={"Retry-After": "5"},
            ),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, Problem(500, "an unexpected error occurred"))
