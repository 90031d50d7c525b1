"""The door of the fractal3d dialect: identify the caller, take a token from its
bucket, label the response with the bucket's state, audit what succeeded."""

from __future__ import annotations

import logging

from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api_stub.fractal3d.auth import Principal, bucket_for, identify
from api_stub.fractal3d.errors import ErrorType
from api_stub.ratelimit import RateLimiter, Verdict
from config.settings import get_settings
from storage import audit
from storage.db import read_scope, session_scope
from workers.resources import redis_client

log = logging.getLogger(__name__)


class Gate:
    """ASGI middleware around the dialect's app. Rate limiting comes before the 401,
    so guessing credentials is throttled per IP like any anonymous call."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._limiter: RateLimiter | None = None

    def limiter(self) -> RateLimiter:
        if self._limiter is None:
            self._limiter = RateLimiter(redis_client())
        return self._limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            principal = await run_in_threadpool(self._identify, Headers(scope=scope))
        except OperationalError as exc:
            log.warning("database unavailable: %s", exc.orig)
            await self._unavailable(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["principal"] = principal
        client_ip = scope["client"][0] if scope.get("client") else "unknown"
        verdict = await run_in_threadpool(self._take, principal, client_ip)
        if verdict is not None and not verdict.allowed:
            await self._refuse(verdict, scope, receive, send)
            return
        if principal is None:
            await self._unauthorized(verdict, scope, receive, send)
            return
        status = 0

        async def labelled(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if verdict is not None:
                    MutableHeaders(scope=message).update(verdict.headers())
            await send(message)

        await self.app(scope, receive, labelled)
        if principal is not None and 200 <= status < 400:
            await run_in_threadpool(self._audit, principal, scope, state)

    def _identify(self, headers: Headers) -> Principal | None:
        settings = get_settings()
        with read_scope(settings.sql_url) as session:
            return identify(session, settings, headers.get("authorization"))

    def _take(self, principal: Principal | None, client_ip: str) -> Verdict | None:
        caller, limit = bucket_for(principal, client_ip, get_settings())
        return self.limiter().take(caller, limit)

    async def _refuse(self, verdict: Verdict, scope: Scope, receive: Receive, send: Send) -> None:
        body = {"message": "too many requests", "type": ErrorType.REQUEST_RATE_LIMITED.value}
        retry_after = max(1, int(1 / verdict.limit.per_s + 0.999))
        headers = {**verdict.headers(), "Retry-After": str(retry_after)}
        await JSONResponse(body, status_code=429, headers=headers)(scope, receive, send)

    async def _unavailable(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = {
            "message": "the service is briefly unavailable; try again shortly",
            "type": ErrorType.SERVICE_UNAVAILABLE.value,
        }
        headers = {"Retry-After": "5"}
        await JSONResponse(body, status_code=503, headers=headers)(scope, receive, send)

    async def _unauthorized(
        self, verdict: Verdict | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        body = {
            "message": "a valid API Key or AccessToken is required: Authorization: Bearer <...>",
            "type": ErrorType.UNAUTHORIZED.value,
        }
        headers = {"WWW-Authenticate": 'Bearer realm="fractal3d"'}
        if verdict is not None:
            headers |= verdict.headers()
        await JSONResponse(body, status_code=401, headers=headers)(scope, receive, send)

    def _audit(self, principal: Principal, scope: Scope, state: dict[str, object]) -> None:
        """Record a successful call; a failure to record is logged, never the caller's."""
        path = scope.get("root_path", "") + scope["path"][len(scope.get("root_path", "")) :]
        try:
            with session_scope(get_settings().sql_url) as session:
                audit.record(
                    session,
                    f"{scope['method']} {path}"[:60],
                    principal.actor,
                    principal.tenant_id,
                    str(state.get("audit_object") or "") or None,
                    str(state.get("request_id") or "") or None,
                    via=principal.via,
                )
        except Exception:
            log.exception("could not audit %s %s", scope["method"], path)
