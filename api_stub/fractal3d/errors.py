"""fractal3d's error table and body shapes, and the handlers that render every error so.

Most endpoints answer `{"message": ...}`; the thumbnail request and both
result_file endpoints wrap it as `{"error": {"message": ...}}`, as the seed shows.
Each body also names its error type from the seed's table. Every error under /api,
unknown paths and refusals at the gate included, comes in one of these shapes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse


class ErrorType(StrEnum):
    INVALID_PARAMETER = "InvalidParameter"
    UNAUTHORIZED = "Unauthorized"  # no valid API Key or AccessToken: not in the seed's table
    PERMISSION_DENIED = "PermissionDenied"
    NOT_SUPPORTED = "NotSupported"
    NOT_FOUND = "NotFound"
    METHOD_NOT_ALLOWED = "MethodNotAllowed"  # not in the seed's table either
    REQUEST_TIMEOUT = "RequestTimeout"  # nor this
    PAYLOAD_TOO_LARGE = "PayloadTooLarge"  # nor this
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
    ErrorType.REQUEST_TIMEOUT: 408,
    ErrorType.PAYLOAD_TOO_LARGE: 413,
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
