"""RFC 9457 problem details: the native dialect's error shape, and its exception type."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from api_stub.errors import (
    ApiError,
    InvalidInput,
    PayloadTooLarge,
    Unauthenticated,
    Unavailable,
)

PROBLEM_JSON = "application/problem+json"
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Content Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


SLUGS: dict[type[ApiError], str] = {
    Unauthenticated: "unauthorized",
    PayloadTooLarge: "too-large",
    Unavailable: "unavailable",
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


def problem_of(error: ApiError) -> Problem:
    """A shared error as a problem: validation errors list every field (422); a
    malformed body is a 400 naming "body"."""
    if isinstance(error, InvalidInput) and error.details:
        return Problem(422, error.message, "validation-error", errors=error.details)
    if isinstance(error, InvalidInput) and error.field:
        return Problem(
            error.status,
            error.message,
            "validation-error",
            errors=[{"field": error.field, "message": error.message}],
        )
    slug = SLUGS.get(type(error))
    return Problem(error.status, error.message, slug, headers=error.headers)
