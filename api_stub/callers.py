"""Who is calling: one module for every dialect's credentials.

A caller proves itself with a farm API key (`jf_<prefix>_<secret>`, every scope) or
with a token a dialect issued (`<prefix><claims>.<signature>`, see `api_stub.tokens`).
A token names its tenant and its issuing key; it is honoured only while that key is
live and belongs to that tenant, so a token forged with one tenant's id and another
tenant's key never passes. Each lookup is one short read; nothing is held afterwards.

An API key that verified is trusted by this process for `api_key_cache_ttl_s`
without asking SQL again (`VerifiedKeys`): a revoked key stops working on every API
process within that TTL, as with the platforms that cache their key checks.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from api_stub import tokens
from config.settings import get_settings
from storage import tenants

# Enough for every live key of a large farm; past it the oldest verification goes.
VERIFIED_KEYS_MAX = 10_000


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


class VerifiedKeys:
    """API keys this process verified lately, by SHA-256 digest, each with the caller it
    proved and the moment until which it is trusted. Only keys that verified are kept,
    so guesses never fill it; past `max_entries` the oldest verification is dropped."""

    def __init__(
        self, max_entries: int = VERIFIED_KEYS_MAX, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: dict[bytes, tuple[float, Principal]] = {}
        self._max_entries, self._clock = max_entries, clock
        self._lock = threading.Lock()

    def get(self, digest: bytes) -> Principal | None:
        """The caller behind `digest` while its verification is within its TTL, else None."""
        entry = self._entries.get(digest)
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]

    def put(self, digest: bytes, principal: Principal, ttl_s: float) -> None:
        with self._lock:
            self._entries.pop(digest, None)
            while len(self._entries) >= self._max_entries:
                del self._entries[next(iter(self._entries))]
            self._entries[digest] = (self._clock() + ttl_s, principal)

    def __len__(self) -> int:
        return len(self._entries)


VERIFIED = VerifiedKeys()


def by_api_key(
    session: Session, presented: str, verified: VerifiedKeys = VERIFIED
) -> Principal | None:
    """The caller behind a farm API key, or None for a malformed, unknown or revoked one
    (revoked at most `api_key_cache_ttl_s` ago: it may still be in `verified`)."""
    digest = hashlib.sha256(presented.encode()).digest()
    known = verified.get(digest)
    if known is not None:
        return known
    caller = tenants.authenticate(session, presented)
    if caller is None:
        return None
    principal = Principal(caller.tenant_id, caller.key_id, caller.key_id, "api_key")
    ttl_s = get_settings().api_key_cache_ttl_s
    if ttl_s > 0:
        verified.put(digest, principal, ttl_s)
    return principal


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
