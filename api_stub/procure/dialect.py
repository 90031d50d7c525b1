"""The procurement platform's own path (seed 004): `GET /api/v1/health`, without
credentials and without a rate limit, in the seed's `{code, message, data}` envelope.
Its signed calls go to the native API (`api_stub.native.signed`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api_stub.callers import Principal
from api_stub.deps import ReadSessionDep
from api_stub.dialect import Call, Dialect
from api_stub.errors import ApiError
from api_stub.native.health import dependency_checks
from api_stub.procure import envelope
from config.settings import RateLimit, Settings

PREFIX = "/api/v1/health"

router = APIRouter(tags=["procure"])


@router.get(PREFIX)
def health(session: ReadSessionDep) -> JSONResponse:
    """Code 0 and HTTP 200 when the database and Redis answer; else 503 (code 50301)
    naming the one that doesn't."""
    checks = dependency_checks(session)
    failing = [name for name, result in checks.items() if result != "ok"]
    if failing:
        return envelope.error_response(503, failing[0], checks[failing[0]])
    return JSONResponse(envelope.ok({"status": "ok", **checks}))


class Procure(Dialect):
    name = "procure"
    title = "jobfarm · procurement platform dialect"
    prefixes = (PREFIX,)
    openapi_url = f"{PREFIX}/openapi.json"
    docs_url = None
    public_paths = (PREFIX, openapi_url)
    realm = "procure"

    def routers(self) -> list[APIRouter]:
        return [router]

    def rate_limits(
        self, principal: Principal | None, call: Call, settings: Settings
    ) -> list[tuple[str, RateLimit]]:
        """The seed's health check has no limit."""
        return []

    def error_response(self, request: Request, error: ApiError) -> Response:
        return envelope.error_response(error.status, error.field, error.message)


DIALECT = Procure()
