"""Who is calling the fractal3d dialect: an API key (every scope), an AccessToken
(its scopes), or nobody; their rate buckets; and the dependency that demands a scope."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from sqlalchemy.orm import Session

from api_stub import callers
from api_stub.callers import Principal
from api_stub.fractal3d.errors import ErrorType, Fractal3dError
from api_stub.fractal3d.scopes import ALL_SCOPES, Scope
from config.settings import RateLimit, Settings

TOKEN_PREFIX = "at_"


def identify(session: Session, settings: Settings, authorization: str | None) -> Principal | None:
    """The caller behind `Authorization: Bearer <API Key or AccessToken>`, or None."""
    presented = callers.bearer_token(authorization)
    if presented is None:
        return None
    if not presented.startswith(TOKEN_PREFIX):
        return callers.by_api_key(session, presented)
    found = callers.by_token(session, TOKEN_PREFIX, settings.access_token_secret, presented)
    if found is None or found.scopes is None:
        return found
    known = frozenset(s for s in found.scopes if s in ALL_SCOPES)
    return Principal(found.tenant_id, found.key_id, found.actor, found.via, known, found.expires_at)


def bucket_for(
    principal: Principal | None, client_ip: str, settings: Settings
) -> tuple[str, RateLimit]:
    """Whose token bucket a call draws from, and its size: per key, per token, else per IP."""
    if principal is None:
        return f"ip:{client_ip}", settings.rate_limit_anonymous
    if principal.via == "token":
        return principal.actor, settings.rate_limit_access_token
    return f"key:{principal.key_id}", settings.rate_limit_api_key


def held_scopes(principal: Principal) -> frozenset[str]:
    return ALL_SCOPES if principal.scopes is None else principal.scopes


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
        if not principal.holds(scope):
            raise Fractal3dError(
                ErrorType.PERMISSION_DENIED, f"this AccessToken does not grant {scope.value}"
            )
        return principal

    return dependency
