"""Who is calling the fractal3d dialect: an API key (every scope), an AccessToken
(its scopes), or nobody; and the dependency that demands a scope."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import Request
from sqlalchemy.orm import Session

from api_stub import tokens
from api_stub.deps import bearer_token
from api_stub.fractal3d.errors import ErrorType, Fractal3dError
from api_stub.fractal3d.scopes import ALL_SCOPES, Scope
from config.settings import RateLimit, Settings
from storage import tenants

TOKEN_PREFIX = "at_"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: its tenant, what it may do, and how it proved itself."""

    tenant_id: str
    key_id: str
    actor: str
    scopes: frozenset[Scope]
    via: Literal["api_key", "access_token"]
    expires_at: int | None = None


def identify(session: Session, settings: Settings, authorization: str | None) -> Principal | None:
    """The caller behind `Authorization: Bearer <API Key or AccessToken>`, or None."""
    presented = bearer_token(authorization)
    if presented is None:
        return None
    if presented.startswith(TOKEN_PREFIX):
        return _by_access_token(session, settings, presented)
    caller = tenants.authenticate(session, presented)
    if caller is None:
        return None
    return Principal(caller.tenant_id, caller.key_id, caller.key_id, ALL_SCOPES, "api_key")


def _by_access_token(session: Session, settings: Settings, presented: str) -> Principal | None:
    granted = tokens.verify(TOKEN_PREFIX, settings.access_token_secret, presented)
    if granted is None or not tenants.key_is_live(session, granted.key_id):
        return None
    return Principal(
        tenant_id=granted.tenant_id,
        key_id=granted.key_id,
        actor=f"token:{granted.token_id}",
        scopes=frozenset(Scope(s) for s in granted.scopes if s in ALL_SCOPES),
        via="access_token",
        expires_at=granted.expires_at,
    )


def bucket_for(
    principal: Principal | None, client_ip: str, settings: Settings
) -> tuple[str, RateLimit]:
    """Whose token bucket a call draws from, and its size: per key, per token, else per IP."""
    if principal is None:
        return f"ip:{client_ip}", settings.rate_limit_anonymous
    if principal.via == "access_token":
        return principal.actor, settings.rate_limit_access_token
    return f"key:{principal.key_id}", settings.rate_limit_api_key


def require(scope: Scope) -> Callable[[Request], Principal]:
    """A dependency: the caller, who must hold `scope`; 401 for nobody, 403 without it."""

    def dependency(request: Request) -> Principal:
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is None:
            raise Fractal3dError(
                ErrorType.UNAUTHORIZED,
                "a valid API Key or AccessToken is required: Authorization: Bearer <token>",
                headers={"WWW-Authenticate": 'Bearer realm="fractal3d"'},
            )
        if scope not in principal.scopes:
            raise Fractal3dError(
                ErrorType.PERMISSION_DENIED, f"this AccessToken does not grant {scope.value}"
            )
        return principal

    return dependency
