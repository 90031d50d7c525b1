"""Signed, expiring download URLs for blobs: pure functions of key, expiry and secret,
and the farm's own signer."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from urllib.parse import quote, urlencode

from config.settings import Settings

DOWNLOAD_PATH = "/v1/blobs/"

Link = Callable[[str], str]
"""Turns a blob key into a URL the receiver can download it from."""


def signature(secret: str, key: str, expires: int) -> str:
    message = f"{key}\n{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_url(base_url: str, secret: str, key: str, ttl_s: int, now: float | None = None) -> str:
    """A URL that downloads blob `key` until `ttl_s` seconds from now."""
    expires = int((time.time() if now is None else now) + ttl_s)
    query = urlencode({"expires": expires, "signature": signature(secret, key, expires)})
    return f"{base_url.rstrip('/')}{DOWNLOAD_PATH}{quote(key)}?{query}"


def download_links(settings: Settings) -> Link:
    """Blob key → a signed download URL, under the farm's base URL, secret and TTL."""
    return lambda key: sign_url(
        settings.base_url, settings.url_signing_secret, key, settings.signed_url_ttl_s
    )


def verify(secret: str, key: str, expires: int, given: str, now: float | None = None) -> bool:
    """True when `given` signs `key` until `expires` and that moment has not passed."""
    if expires < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(signature(secret, key, expires), given)
