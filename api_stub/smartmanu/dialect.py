"""smartmanu's API: `/auth/token`, the `/v2` design and batch endpoints, and the
`/ws/progress` WebSocket. Callers present the hour-long token from /auth/token; each
draws on a bucket of 1000 calls a minute; errors are `{"status": "error", "code",
"message", "data"}`."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api_stub import callers
from api_stub.callers import Principal
from api_stub.dialect import BodyPolicy, Call, Dialect
from api_stub.errors import ApiError, TooManyRequests, Unauthenticated
from api_stub.smartmanu import progress, routes
from api_stub.smartmanu.auth import REAUTHENTICATE, TOKEN_PREFIX
from api_stub.smartmanu.errors import SmartmanuError
from config.settings import RateLimit, Settings

BATCH_PATH = "/v2/async/batch"


class Smartmanu(Dialect):
    name = "smartmanu"
    title = "jobfarm · smartmanu dialect"
    prefixes = ("/auth", "/v2", "/ws")
    openapi_url = "/v2/openapi.json"
    docs_url = "/v2/docs"
    public_paths = ("/auth/token", "/v2/openapi.json", "/v2/docs", "/v2/docs/oauth2-redirect")
    waiting_paths = ("/v2/design/generate",)
    realm = "smartmanu"

    def routers(self) -> list[APIRouter]:
        return [routes.router, progress.router]

    def install(self, app: FastAPI) -> None:
        async def own(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, SmartmanuError)
            return exc.response()

        app.add_exception_handler(SmartmanuError, own)

    def identify(self, session: Session, settings: Settings, call: Call) -> Principal | None:
        presented = callers.bearer_token(call.headers.get("authorization"))
        if presented is None:
            return None
        return callers.by_token(session, TOKEN_PREFIX, settings.access_token_secret, presented)

    def rate_limits(
        self, principal: Principal | None, call: Call, settings: Settings
    ) -> list[tuple[str, RateLimit]]:
        if principal is None:
            # /auth/token is public, but guessing secrets there is throttled per IP.
            docs = call.path.startswith("/v2/docs") or call.path == self.openapi_url
            return [] if docs else [(f"ip:{call.client_ip}", settings.rate_limit_anonymous)]
        return [(f"smartmanu:{principal.key_id}", settings.rate_limit_smartmanu)]

    def body_policy(self, call: Call, settings: Settings) -> BodyPolicy:
        if call.path == BATCH_PATH:
            return BodyPolicy(
                max_bytes=settings.max_batch_body_bytes, deadline_s=settings.body_deadline_s
            )
        return super().body_policy(call, settings)

    def error_response(self, request: Request, error: ApiError) -> Response:
        message = error.message
        if isinstance(error, Unauthenticated):
            message = REAUTHENTICATE
        elif isinstance(error, TooManyRequests) and error.is_default:
            message = "too many requests: slow down, or ask for a larger rate"
        data = {"field": error.field} if error.field else None
        return SmartmanuError(error.status, message, data=data).response()


DIALECT = Smartmanu()
