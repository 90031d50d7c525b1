"""The content platform's JWTs (seed 003): an access token (2 h) and a refresh token
(7 d) per login, HS256 under `content_jwt_secret`.

Each names its user (`sub`), the user's tenant (`tid`) and its use (`typ`): a refresh
token is never taken as an access token, nor the other way round. Pure: no I/O.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import jwt

ALGORITHM = "HS256"
ISSUER = "jobfarm-content"
Use = Literal["access", "refresh"]


@dataclass(frozen=True)
class UserClaims:
    """What a verified token says: whose it is and until when."""

    user_id: int
    tenant_id: str
    use: Use
    expires_at: int


def issue(secret: str, user_id: int, tenant_id: str, use: Use, ttl_s: int) -> str:
    """A signed token of `use` for the user, valid `ttl_s` seconds from now."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": str(user_id),
        "tid": tenant_id,
        "typ": use,
        "iat": now,
        "exp": now + ttl_s,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(secret: str, token: str, use: Use) -> UserClaims | None:
    """The claims of a token of `use` signed with `secret` and unexpired; else None."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "tid", "typ"]},
        )
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != use or not str(claims["sub"]).isdigit():
        return None
    return UserClaims(int(claims["sub"]), str(claims["tid"]), use, int(claims["exp"]))


def looks_like_jwt(token: str) -> bool:
    """True for a three-part dotted token (a farm API key never is)."""
    return token.count(".") == 2
