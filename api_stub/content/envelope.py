"""The content API's envelope, `{"code", "message", "data"}`, for answers and errors.

`code` is 200 on success; an HTTP-like code (400, 401, 404, ...) or one of the seed's
business codes (40001 积分不足, 40006 AI服务调用失败, 40007 内容生成失败) otherwise. The HTTP
status mirrors HTTP-like codes; business codes travel with 400.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from fastapi.responses import JSONResponse

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


BEIJING = timezone(timedelta(hours=8))


def seed_time(moment: datetime | None) -> str | None:
    """A stored UTC timestamp in the seed's form: ISO 8601 in UTC+8, to the second,
    without an offset ("2026-01-22T10:00:00")."""
    if moment is None:
        return None
    local = moment.replace(tzinfo=UTC).astimezone(BEIJING)
    return local.replace(tzinfo=None).isoformat(timespec="seconds")
