"""fractal3d's error table and body shapes, and the handlers that render every error so.

Most endpoints answer `{"message": ...}`; the thumbnail request and both
result_file endpoints wrap it as `{"error": {"message": ...}}`, as the seed shows.
Each body also names its error type from the seed's table.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ErrorType(StrEnum):
    INVALID_PARAMETER = "InvalidParameter"
    UNAUTHORIZED = "Unauthorized"  # no valid API Key or AccessToken: not in the seed's table
    PERMISSION_DENIED = "PermissionDenied"
    NOT_SUPPORTED = "NotSupported"
    NOT_FOUND = "NotFound"
    METHOD_NOT_ALLOWED = "MethodNotAllowed"  # not in the seed's table either
    REQUEST_RATE_LIMITED = "RequestRateLimited"
    INTERNAL_SERVER_ERROR = "InternalServerError"
    SERVICE_UNAVAILABLE = "ServiceUnavailable"


STATUS = {
    ErrorType.INVALID_PARAMETER: 400,
    ErrorType.UNAUTHORIZED: 401,
    ErrorType.PERMISSION_DENIED: 403,
    ErrorType.NOT_SUPPORTED: 403,
    ErrorType.NOT_FOUND: 404,
    ErrorType.METHOD_NOT_ALLOWED: 405,
    ErrorType.REQUEST_RATE_LIMITED: 429,
    ErrorType.INTERNAL_SERVER_ERROR: 500,
    ErrorType.SERVICE_UNAVAILABLE: 503,
}

# Paths (inside the dialect's mount) whose errors come wrapped in {"error": {...}}.
WRAPPED_PATHS = frozenset({"/thumbnail", "/converts/result_file", "/thumbnail/result_file"})


class Fractal3dError(Exception):
    """An error answered in fractal3d's shape."""

    def __init__(
        self, error_type: ErrorType, message: str, headers: dict[str, str] | None = None
    ) -> None:
        self.error_type, self.message, self.headers = error_type, message, headers
        super().__init__(message)


def error_body(path: str, error_type: ErrorType, message: str) -> dict[str, Any]:
    """The body of an error on `path` (relative to the mount), flat or wrapped."""
    inner = {"message": message, "type": error_type.value}
    return {"error": inner} if path.rstrip("/") in WRAPPED_PATHS else inner


def error_response(request: Request, error: Fractal3dError) -> JSONResponse:
    path = request.scope.get("path", "")[len(request.scope.get("root_path", "")) :]
    return JSONResponse(
        error_body(path, error.error_type, error.message),
        status_code=STATUS[error.error_type],
        headers=error.headers,
    )


def invalid_parameter(exc: RequestValidationError) -> Fractal3dError:
    """The first thing wrong with the request, naming the parameter."""
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return Fractal3dError(ErrorType.INVALID_PARAMETER, "the body is not valid JSON")
    first = errors[0]
    field = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "header"))
    message = str(first["msg"]).removeprefix("Value error, ")
    return Fractal3dError(ErrorType.INVALID_PARAMETER, f"{field}: {message}" if field else message)


HTTP_STATUS_TYPES = {
    401: ErrorType.UNAUTHORIZED,
    403: ErrorType.PERMISSION_DENIED,
    404: ErrorType.NOT_FOUND,
    405: ErrorType.METHOD_NOT_ALLOWED,
}


def install_error_handlers(app: FastAPI) -> None:
    """Render every error on the dialect's app in its shape; never leak a traceback."""

    @app.exception_handler(Fractal3dError)
    async def _dialect(request: Request, exc: Fractal3dError) -> JSONResponse:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(request, invalid_parameter(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error_type = HTTP_STATUS_TYPES.get(exc.status_code, ErrorType.INVALID_PARAMETER)
        return error_response(request, Fractal3dError(error_type, str(exc.detail).lower()))

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", exc.orig)
        error = Fractal3dError(
            ErrorType.SERVICE_UNAVAILABLE,
            "the service is briefly unavailable; try again shortly",
            headers={"Retry-After": "5"},
        )
        return error_response(request, error)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        error = Fractal3dError(ErrorType.INTERNAL_SERVER_ERROR, "internal server error")
        return error_response(request, error)
