"""The agent API's one credential: `Authorization: <AGENT_ACCESS_KEY>`, the key itself
with no scheme word, as the seed says. Unset, nothing matches."""

from __future__ import annotations

import hmac

from api_stub.callers import Principal

AGENT = Principal(tenant_id="", key_id="agent", actor="agent", via="api_key")
"""The caller behind the access key. It names no tenant: every call names its merchant."""


def key_matches(presented: str | None, expected: str | None) -> bool:
    """True when the header is exactly the configured key, compared in constant time;
    False when no key is configured, none is presented, or it comes as `Bearer <key>`."""
    if not expected or not presented:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())
