"""The procurement platform's envelope (seed 004): `{"code", "message", "data"}`.

Success is code 0. An error's code is its HTTP status times 100 plus one (400 →
40001, as the seed shows; 5xxxx are the server errors its clients retry); its data
names the part of the request at fault: `{"field", "reason"}`.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

WORDS = {
    400: "请求参数错误",
    401: "认证失败",
    402: "额度不足",
    403: "无权访问",
    404: "资源不存在",
    405: "请求方法不允许",
    408: "请求超时",
    409: "请求冲突",
    413: "请求体过大",
    422: "请求参数错误",
    429: "请求过于频繁",
    500: "服务器内部错误",
    503: "服务暂不可用",
}


def code_of(status: int) -> int:
    return status * 100 + 1


def ok(data: Any, message: str = "操作成功") -> dict[str, Any]:
    return {"code": 0, "message": message, "data": data}


def error_response(
    status: int, field: str | None, reason: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An error in the envelope, with its HTTP status."""
    body = {
        "code": code_of(status),
        "message": WORDS.get(status, "请求失败"),
        "data": {"field": field, "reason": reason},
    }
    return JSONResponse(body, status_code=status, headers=headers)
