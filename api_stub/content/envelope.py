"""The content API's envelope, `{"code", "message", "data"}`, for answers and errors,
and the route class that puts every error of the dialect in it.

`code` is 200 on success; an HTTP-like code (400, 401, 404, ...) or one of the seed's
business codes (40001 积分不足, 40006 AI服务调用失败, 40007 内容生成失败) otherwise. The HTTP
status mirrors HTTP-like codes; business codes travel with 400.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

INSUFFICIENT_CREDITS = 40001
MODEL_UNAVAILABLE = 40006
GENERATION_FAILED = 40007


def ok(data: Any, message: str = "success") -> dict[str, Any]:
    return {"code": 200, "message": message, "data": data}


class ContentError(Exception):
    """An error answered in the envelope."""

    def __init__(self, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        self.code, self.message, self.headers = code, message, headers
        super().__init__(message)

    def response(self) -> JSONResponse:
        status = self.code if self.code < 600 else 400
        body = {"code": self.code, "message": self.message, "data": None}
        return JSONResponse(body, status_code=status, headers=self.headers)


def invalid_request(exc: RequestValidationError) -> ContentError:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return ContentError(400, "请求参数错误: the body is not valid JSON")
    first = errors[0]
    field = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "path"))
    return ContentError(400, f"请求参数错误: {field}: {first['msg']}")


class ContentRoute(APIRoute):
    """Routes of the dialect: every error, validation included, in the envelope."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except ContentError as exc:
                return exc.response()
            except RequestValidationError as exc:
                return invalid_request(exc).response()

        return handler
