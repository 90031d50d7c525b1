"""The content platform's user callers: a user's JWT access token as
`Authorization: Bearer`, beside the farm's API keys.

A token counts only while its user is active in the tenant it names (one short read,
which also brings the user's membership to the gate's rate limits)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from api_stub.callers import Principal
from api_stub.content import user_tokens
from config.settings import Settings
from storage import content_users
from storage.content_users import UserView


@dataclass(frozen=True)
class UserPrincipal(Principal):
    """A content user: the caller of their own tenant, a member or not."""

    user_id: int = 0
    is_member: bool = False


def principal_of(user: UserView, expires_at: int | None = None) -> UserPrincipal:
    return UserPrincipal(
        tenant_id=user.tenant_id,
        key_id=f"user:{user.id}",
        actor=f"user:{user.id}",
        via="token",
        expires_at=expires_at,
        user_id=user.id,
        is_member=user.is_member(),
    )


def by_access_token(session: Session, settings: Settings, token: str) -> UserPrincipal | None:
    """The user behind a valid, unexpired access token, or None (a refresh token, an
    expired or forged one, or a user no longer active)."""
    claims = user_tokens.verify(settings.content_jwt_secret, token, "access")
    if claims is None:
        return None
    user = content_users.of_tenant(session, claims.tenant_id, claims.user_id)
    return None if user is None else principal_of(user, claims.expires_at)
