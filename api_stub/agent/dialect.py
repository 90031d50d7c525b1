"""The agent API (seed 001) under /api/v2/ai: one access key from the environment,
presented as `Authorization: <AGENT_ACCESS_KEY>` (no `Bearer`); every call names its
`merchant_id`; lists are DRF pages; errors are DRF's `{"detail": "..."}`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from api_stub.agent import routes
from api_stub.agent.access import AGENT, key_matches
from api_stub.callers import Principal
from api_stub.dialect import Call, Dialect
from api_stub.errors import ApiError, Unauthenticated
from config.settings import Settings

UNAUTHENTICATED = "Authorization must be the agent access key itself (no Bearer prefix)"


class Agent(Dialect):
    name = "agent"
    title = "jobfarm · agent API"
    prefixes = ("/api/v2/ai",)
    mount = "/api/v2/ai"
    # The seed: without the key, every request is 401, the schema's included; a docs
    # page could not fetch it.
    docs_url = None
    realm = "agent"

    def routers(self) -> list[APIRouter]:
        return [routes.router]

    def identify(self, session: Session, settings: Settings, call: Call) -> Principal | None:
        presented = call.headers.get("authorization")
        return AGENT if key_matches(presented, settings.agent_access_key) else None

    def error_response(self, request: Request, error: ApiError) -> Response:
        message = UNAUTHENTICATED if isinstance(error, Unauthenticated) else error.message
        return JSONResponse({"detail": message}, status_code=error.status)

    def unauthenticated_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'AgentKey realm="{self.realm}"'}


DIALECT = Agent()
