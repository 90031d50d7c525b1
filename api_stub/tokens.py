"""Bearer tokens the dialects issue: short-lived, scoped, signed by the farm; nothing stored.

A token is `<prefix><payload>.<signature>`: the payload (tenant, issuing key, scopes,
expiry, id) in URL-safe base64 JSON, signed with HMAC-SHA256 over the prefix and the
payload, so one dialect's token is never another's. Checking one costs no database
write; the API still checks that the issuing key is not revoked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class AccessToken:
    tenant_id: str
    key_id: str
    scopes: frozenset[str]
    expires_at: int
    token_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def issue(
    prefix: str,
    secret: str,
    tenant_id: str,
    key_id: str,
    scopes: frozenset[str],
    ttl_s: int,
    now: float | None = None,
) -> tuple[str, AccessToken]:
    """A new token string starting with `prefix`, and what it grants."""
    token = AccessToken(
        tenant_id=tenant_id,
        key_id=key_id,
        scopes=scopes,
        expires_at=int((time.time() if now is None else now) + ttl_s),
        token_id=secrets.token_hex(8),
    )
    claims = {
        "t": token.tenant_id,
        "k": token.key_id,
        "s": sorted(token.scopes),
        "e": token.expires_at,
        "j": token.token_id,
    }
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{prefix}{payload}.{_sign(secret, prefix + payload)}", token


def verify(
    prefix: str, secret: str, presented: str, now: float | None = None
) -> AccessToken | None:
    """What a `prefix` token grants, or None when it is malformed, forged or expired."""
    if not presented.startswith(prefix):
        return None
    payload, _, signature = presented[len(prefix) :].partition(".")
    if not hmac.compare_digest(_sign(secret, prefix + payload), signature):
        return None
    try:
        claims = json.loads(_unb64(payload))
        token = AccessToken(
            tenant_id=str(claims["t"]),
            key_id=str(claims["k"]),
            scopes=frozenset(str(s) for s in claims["s"]),
            expires_at=int(claims["e"]),
            token_id=str(claims["j"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
    if token.expires_at <= (time.time() if now is None else now):
        return None
    return token
