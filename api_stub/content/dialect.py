"""The content platform's API under /api/v1 (seed 003): accounts, videos, decks, credits
and models. Callers present a user's JWT access token or a farm API key as
`Authorization: Bearer`; calls draw on the seed's classes of limits (auth 10/min,
generation 20/h for non-members and unlimited for members, queries 100/min, the rest
60/min); every answer is the `{code, message, data}` envelope."""

from __future__ import annotations

import re

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api_stub import callers
from api_stub.callers import Principal
from api_stub.content import (
    auth,
    creations,
    generation,
    image,
    routes,
    user_tokens,
    users,
    writing,
)
from api_stub.content.envelope import ContentError
from api_stub.dialect import Call, Dialect
from api_stub.errors import ApiError, InvalidInput
from config.settings import RateLimit, Settings

PREFIX = "/api/v1"
# Generations answered with their result when it comes within `content_wait_s`.
WAITING_GENERATION = re.compile(rf"^{PREFIX}/(ppt|image|writing/[^/]+)/generate$")
# The seed's words for each status, before the detail.
WORDS = {
    400: "请求参数错误",
    401: "未认证",
    403: "无权限",
    404: "资源不存在",
    405: "请求方法不允许",
    408: "请求超时",
    413: "请求体过大",
    429: "请求过于频繁",
    500: "服务器内部错误",
    503: "服务暂不可用",
}


def rate_class(call: Call) -> str:
    """Which of the seed's limits a call counts against."""
    if call.path.startswith(f"{PREFIX}/auth/"):
        return "auth"
    if call.method == "POST" and call.path.endswith("/generate"):
        return "generation"
    return "query" if call.method == "GET" else "other"


class Content(Dialect):
    name = "content"
    title = "jobfarm · content platform dialect"
    prefixes = (PREFIX,)
    openapi_url = f"{PREFIX}/openapi.json"
    docs_url = f"{PREFIX}/docs"
    public_paths = (
        openapi_url,
        docs_url,
        f"{PREFIX}/docs/oauth2-redirect",
        f"{PREFIX}/auth/register",
        f"{PREFIX}/auth/login",
        f"{PREFIX}/auth/refresh",
    )
    waiting_paths = (f"{PREFIX}/ppt/generate",)
    realm = "content"

    def routers(self) -> list[APIRouter]:
        return [
            auth.router,
            routes.router,
            generation.router,
            writing.router,
            image.router,
            creations.router,
        ]

    def install(self, app: FastAPI) -> None:
        async def own(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, ContentError)
            return exc.response()

        app.add_exception_handler(ContentError, own)

    def identify(self, session: Session, settings: Settings, call: Call) -> Principal | None:
        """A user's access token (a JWT), else a farm API key."""
        presented = callers.bearer_token(call.headers.get("authorization"))
        if presented and user_tokens.looks_like_jwt(presented):
            return users.by_access_token(session, settings, presented)
        return callers.by_api_key(session, presented) if presented else None

    def admission_class(self, call: Call) -> str | None:
        """Every generation that waits for its job counts against the tenant's cap."""
        if call.method == "POST" and WAITING_GENERATION.match(call.path):
            return "wait"
        return super().admission_class(call)

    def rate_limits(
        self, principal: Principal | None, call: Call, settings: Settings
    ) -> list[tuple[str, RateLimit]]:
        kind = rate_class(call)
        if principal is None and self.is_public(call.path) and kind != "auth":
            return []
        member = isinstance(principal, users.UserPrincipal) and principal.is_member
        if kind == "generation" and member:
            return []
        limit: RateLimit = getattr(settings, f"rate_limit_content_{kind}")
        who = f"key:{principal.key_id}" if principal else f"ip:{call.client_ip}"
        return [(f"content:{kind}:{who}", limit)]

    def error_response(self, request: Request, error: ApiError) -> Response:
        words = WORDS.get(error.status, "请求失败")
        message = words if error.is_default else f"{words}: {error.message}"
        if isinstance(error, InvalidInput):
            message = f"{words}: {error.message}"
        return ContentError(error.status, message).response()


DIALECT = Content()
