"""fractal3d's API under /api: files, conversions, thumbnails and AccessTokens, with
its token buckets (anonymous per IP, AccessToken, API key), its error bodies (flat,
or wrapped on the thumbnail and result_file paths) and an audit entry for every
successful call."""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api_stub.callers import Principal
from api_stub.dialect import Call, Dialect
from api_stub.errors import (
    ApiError,
    Forbidden,
    Internal,
    InvalidInput,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RequestTimeout,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
)
from api_stub.fractal3d import auth, routes
from api_stub.fractal3d.errors import ErrorType, Fractal3dError, error_response
from config.settings import RateLimit, Settings, get_settings
from storage import audit
from storage.db import session_scope

log = logging.getLogger(__name__)

TYPES: dict[type[ApiError], ErrorType] = {
    InvalidInput: ErrorType.INVALID_PARAMETER,
    Unauthenticated: ErrorType.UNAUTHORIZED,
    Forbidden: ErrorType.PERMISSION_DENIED,
    NotFound: ErrorType.NOT_FOUND,
    MethodNotAllowed: ErrorType.METHOD_NOT_ALLOWED,
    RequestTimeout: ErrorType.REQUEST_TIMEOUT,
    PayloadTooLarge: ErrorType.PAYLOAD_TOO_LARGE,
    TooManyRequests: ErrorType.REQUEST_RATE_LIMITED,
    Unavailable: ErrorType.SERVICE_UNAVAILABLE,
    Internal: ErrorType.INTERNAL_SERVER_ERROR,
}
MESSAGES = {
    ErrorType.UNAUTHORIZED: "a valid API Key or AccessToken is required: "
    "Authorization: Bearer <...>",
    ErrorType.REQUEST_RATE_LIMITED: "too many requests",
    ErrorType.INTERNAL_SERVER_ERROR: "internal server error",
}


class Fractal3d(Dialect):
    name = "fractal3d"
    title = "jobfarm · fractal3d dialect"
    prefixes = ("/api",)
    mount = "/api"
    public_paths = ("/docs", "/docs/oauth2-redirect", "/openapi.json")
    upload_paths = ("/files",)
    realm = "fractal3d"

    def routers(self) -> list[APIRouter]:
        return [routes.router]

    def install(self, app: FastAPI) -> None:
        async def own(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, Fractal3dError)
            return error_response(request, exc)

        app.add_exception_handler(Fractal3dError, own)

    def identify(self, session: Session, settings: Settings, call: Call) -> Principal | None:
        return auth.identify(session, settings, call.headers.get("authorization"))

    def rate_limits(
        self, principal: Principal | None, call: Call, settings: Settings
    ) -> list[tuple[str, RateLimit]]:
        if principal is None and self.is_public(call.path):
            return []
        return [auth.bucket_for(principal, call.client_ip, settings)]

    def error_response(self, request: Request, error: ApiError) -> Response:
        error_type = TYPES.get(type(error), ErrorType.INVALID_PARAMETER)
        message = MESSAGES.get(error_type, error.message) if error.is_default else error.message
        return error_response(request, Fractal3dError(error_type, message))

    def after_call(self, principal: Principal, request: Request, status: int) -> None:
        """Audit a successful call; a failure to record is logged, never the caller's."""
        path = request.url.path
        state = request.state
        try:
            with session_scope(get_settings().sql_url) as session:
                audit.record(
                    session,
                    f"{request.method} {path}"[:60],
                    principal.actor,
                    principal.tenant_id,
                    str(getattr(state, "audit_object", "") or "") or None,
                    str(getattr(state, "request_id", "") or "") or None,
                    via="access_token" if principal.via == "token" else principal.via,
                )
        except Exception:
            log.exception("could not audit %s %s", request.method, path)


DIALECT = Fractal3d()
