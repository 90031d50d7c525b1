"""The farm's own API: `/v1/...`, `/healthz`, `/docs`, and whatever path no other
dialect owns. Callers present a farm API key as `Authorization: Bearer`, or sign
their requests as the key's app (seed 004, `api_stub.native.signed`); errors are
RFC 9457 problem+json, except for a call that came with `X-App-Id`: its clients parse
the procurement platform's envelope, `{"code", "message", "data": {"field",
"reason"}}`, so it gets that."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api_stub.callers import Principal
from api_stub.dialect import Call, Dialect
from api_stub.errors import ApiError
from api_stub.native import files, health, jobs, retries, signed, webhook_endpoints, webhooks
from api_stub.problems import Problem, problem_of, problem_response
from api_stub.procure import envelope
from config.settings import RateLimit, Settings
from storage.urls import DOWNLOAD_PATH


class Native(Dialect):
    name = "native"
    title = "jobfarm"
    prefixes = ("",)
    public_paths = ("/healthz", "/docs", "/docs/oauth2-redirect", "/openapi.json", DOWNLOAD_PATH)
    upload_paths = ("/v1/files",)

    def routers(self) -> list[APIRouter]:
        # retries first: its /v1/jobs/dead-letter would otherwise be read as a job id.
        return [
            retries.router,
            jobs.router,
            files.router,
            webhooks.router,
            webhook_endpoints.router,
            health.router,
        ]

    def install(self, app: FastAPI) -> None:
        async def problem(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, Problem)
            if "x-app-id" in request.headers:
                return enveloped(exc)
            return problem_response(request, exc)

        app.add_exception_handler(Problem, problem)

    def identify(self, session: Session, settings: Settings, call: Call) -> Principal | None:
        """A signed app when the call carries `X-App-Id`, else a farm API key."""
        if signed.is_signed(call):
            return signed.by_signature(session, settings, call)
        return super().identify(session, settings, call)

    def signs_body(self, call: Call) -> bool:
        return signed.is_signed(call)

    def rate_limits(
        self, principal: Principal | None, call: Call, settings: Settings
    ) -> list[tuple[str, RateLimit]]:
        """A signed app draws on the seed's QPS class of the call, per app id."""
        if isinstance(principal, signed.SignedPrincipal):
            kind = signed_class(call)
            limit: RateLimit = getattr(settings, f"rate_limit_signed_{kind}")
            return [(f"signed:{kind}:{principal.app_id}", limit)]
        return super().rate_limits(principal, call, settings)

    def error_response(self, request: Request, error: ApiError) -> Response:
        if "x-app-id" in request.headers:
            return enveloped(problem_of(error), error.field)
        return problem_response(request, problem_of(error))


def signed_class(call: Call) -> str:
    """The seed's QPS class: reads are queries, a POST to a collection (`/v1/jobs`)
    creates, and the rest (actions such as cancel, PUT, PATCH, DELETE) update."""
    if call.method in ("GET", "HEAD", "OPTIONS"):
        return "query"
    if call.method == "POST" and call.path.strip("/").count("/") <= 1:
        return "create"
    return "update"


def enveloped(problem: Problem, field: str | None = None) -> Response:
    """A problem in the procurement platform's envelope, naming the field at fault."""
    first = (problem.errors or [{}])[0]
    reason = first.get("message", problem.detail)
    return envelope.error_response(
        problem.status, first.get("field", field), reason, headers=problem.headers
    )


DIALECT = Native()
