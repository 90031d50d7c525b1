"""smartmanu's error body.

The body is `{"status": "error", "code", "message", "data"}`. `code` is the seed's:
401 (re-authenticate), 429 (slow down), 5003 (infeasible: ask /alternative), and
the HTTP status for the rest.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

INFEASIBLE = 5003


class SmartmanuError(Exception):
    """An error answered in smartmanu's shape."""

    def __init__(
        self,
        http_status: int,
        message: str,
        code: int | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.http_status, self.message = http_status, message
        self.code = code or http_status
        self.data, self.headers = data, headers
        super().__init__(message)

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"status": "error", "code": self.code, "message": self.message}
        if self.data is not None:
            body["data"] = self.data
        return JSONResponse(body, status_code=self.http_status, headers=self.headers)


def bad_request(message: str, **data: Any) -> SmartmanuError:
    return SmartmanuError(400, message, data=data or None)
