"""smartmanu's tokens: `POST /auth/token` trades an API key and secret for an hour-long
bearer token; every other call presents it (checked at the gate, see `dialect.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from api_stub import tokens
from storage.tenants import Caller

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
