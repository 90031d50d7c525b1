"""Who is calling: one module for every dialect's credentials.

A caller proves itself with a farm API key (`jf_<prefix>_<secret>`, every scope) or
with a token a dialect issued (`<prefix><claims>.<signature>`, see `api_stub.tokens`).
A token names its tenant and its issuing key; it is honoured only while that key is
live and belongs to that tenant, so a token forged with one tenant's id and another
tenant's key never passes. Each lookup is one short read; nothing is held afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from api_stub import tokens
from storage import tenants


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: its tenant, what it may do, and how it proved itself.
    `scopes` None means every scope (an API key)."""

    tenant_id: str
    key_id: str
    actor: str
    via: Literal["api_key", "token"]
    scopes: frozenset[str] | None = None
    expires_at: int | None = None

    def holds(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes


def bearer_token(authorization: str | None) -> str | None:
    """The credential in `Authorization: Bearer <credential>`, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def by_api_key(session: Session, presented: str) -> Principal | None:
    """The caller behind a farm API key, or None for a malformed, unknown or revoked one."""
    caller = tenants.authenticate(session, presented)
    if caller is None:
        return None
    return Principal(caller.tenant_id, caller.key_id, caller.key_id, "api_key")


def by_token(session: Session, prefix: str, secret: str, presented: str) -> Principal | None:
    """The caller behind a `prefix` token: signed, unexpired, and issued by a live key of
    the tenant it names; else None."""
    granted = tokens.verify(prefix, secret, presented)
    if granted is None:
        return None
    if tenants.live_key_tenant(session, granted.key_id) != granted.tenant_id:
        return None
    return Principal(
        tenant_id=granted.tenant_id,
        key_id=granted.key_id,
        actor=f"token:{granted.token_id}",
        via="token",
        scopes=granted.scopes,
        expires_at=granted.expires_at,
    )
