"""smartmanu's error body, and a route class that renders every error of the dialect in it.

The body is `{"status": "error", "code", "message", "data"}`. `code` is the seed's:
401 (re-authenticate), 429 (slow down), 5003 (infeasible: ask /alternative), and
the HTTP status for the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

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


def invalid_request(exc: RequestValidationError) -> SmartmanuError:
    """The first thing wrong with the request, naming the field."""
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return bad_request("the body is not valid JSON")
    first = errors[0]
    field = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "header"))
    return bad_request(f"{field}: {first['msg']}", field=field)


class SmartmanuRoute(APIRoute):
    """Routes of the dialect: their errors, validation included, in smartmanu's body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except SmartmanuError as exc:
                answer = exc.response()
            except RequestValidationError as exc:
                answer = invalid_request(exc).response()
            answer.headers.update(getattr(request.state, "rate_limit_headers", {}))
            return answer

        return handler
