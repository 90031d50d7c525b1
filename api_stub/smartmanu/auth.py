"""smartmanu's auth: `POST /auth/token` trades an API key and secret for an hour-long
bearer token; every other call presents it, and draws on its caller's rate bucket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from starlette.concurrency import run_in_threadpool

from api_stub import tokens
from api_stub.deps import ReadSessionDep, SettingsDep, bearer_token
from api_stub.ratelimit import RateLimiter
from api_stub.smartmanu.errors import SmartmanuError
from storage import tenants
from storage.tenants import Caller
from workers.resources import redis_client

TOKEN_PREFIX = "smt_"
REAUTHENTICATE = "the token is missing, invalid or expired: get a new one from POST /auth/token"


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


def issue_token(caller: Caller, secret: str, ttl_s: int) -> IssuedToken:
    token, _ = tokens.issue(
        TOKEN_PREFIX, secret, caller.tenant_id, caller.key_id, frozenset(), ttl_s
    )
    return IssuedToken(token=token, expires_in=ttl_s)


def key_and_secret(api_key: str, secret: str) -> str:
    """The farm's API key from smartmanu's two halves: `api_key` is `jf_<prefix>`, and
    `secret` the rest (a whole key in `api_key` with an empty secret is taken too)."""
    return f"{api_key}_{secret}" if secret else api_key


def token_caller(
    session: ReadSessionDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Caller:
    """The caller behind `Authorization: Bearer <token>`, or 401 with the hint to
    re-authenticate."""
    presented = bearer_token(authorization)
    granted = (
        tokens.verify(TOKEN_PREFIX, settings.access_token_secret, presented) if presented else None
    )
    if granted is None or not tenants.key_is_live(session, granted.key_id):
        raise SmartmanuError(
            401, REAUTHENTICATE, headers={"WWW-Authenticate": 'Bearer realm="smartmanu"'}
        )
    return Caller(tenant_id=granted.tenant_id, key_id=granted.key_id)


_limiter: RateLimiter | None = None


def limiter() -> RateLimiter:
    global _limiter
    if _limiter is None:
        _limiter = RateLimiter(redis_client())
    return _limiter


async def rate_limited(
    caller: Annotated[Caller, Depends(token_caller)],
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> Caller:
    """The caller, once it has a token left in its bucket (1000 a minute); 429 if not."""
    limit = settings.rate_limit_smartmanu
    verdict = await run_in_threadpool(limiter().take, f"smartmanu:{caller.key_id}", limit)
    if verdict is None:
        return caller
    if not verdict.allowed:
        raise SmartmanuError(
            429,
            "too many requests: slow down, or ask for a larger rate",
            headers={**verdict.headers(), "Retry-After": str(max(1, round(1 / limit.per_s)))},
        )
    response.headers.update(verdict.headers())
    # Errors raised later in the route build their own response; they take these too.
    request.state.rate_limit_headers = verdict.headers()
    return caller


CallerDep = Annotated[Caller, Depends(rate_limited)]
