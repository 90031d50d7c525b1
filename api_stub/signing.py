"""HMAC-SHA256 request signatures (seed 004), as pure functions.

A signed call carries `X-App-Id`, `X-Timestamp` (Unix milliseconds) and
`X-Signature` = HMAC-SHA256 under the app secret of `METHOD + PATH + TIMESTAMP +
BODY`, concatenated without separators: the upper-case method, the path as sent
(with `?query` when there is one), the timestamp exactly as in its header, and the
raw body bytes (nothing for a bodiless request or a streamed upload). The signature
is accepted in lower- or upper-case hex (what `openssl dgst -sha256 -hmac` and
`hmac.hexdigest()` print) or in base64 (standard or URL-safe, padded or not).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress

HEADERS = ("x-app-id", "x-timestamp", "x-signature")


def string_to_sign(method: str, path: str, timestamp: str, body: bytes) -> bytes:
    """The bytes the signature covers."""
    return method.upper().encode() + path.encode() + timestamp.encode() + body


def sign(secret: str, method: str, path: str, timestamp: str, body: bytes = b"") -> str:
    """The signature in hex, as a client computes it."""
    message = string_to_sign(method, path, timestamp, body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def decoded(signature: str) -> bytes | None:
    """The 32 digest bytes a hex or base64 signature spells, or None."""
    text = signature.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    padded = text + "=" * (-len(text) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decode(padded.encode())
        except (binascii.Error, ValueError):
            continue
        if len(raw) == 32:
            return raw
    return None


def matches(secret: str, message: bytes, signature: str) -> bool:
    """True when `signature` (hex or base64) is the HMAC-SHA256 of `message`."""
    presented = decoded(signature)
    expected = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return presented is not None and hmac.compare_digest(presented, expected)


def timestamp_fault(timestamp: str, now_ms: int, window_s: float) -> str | None:
    """Why `timestamp` (ms) is refused, or None when it is within `window_s` of now."""
    if not timestamp.isdigit():
        return "must be Unix time in milliseconds"
    skew_s = abs(int(timestamp) - now_ms) / 1000
    if skew_s > window_s:
        return f"is {skew_s:.0f} s from the server's clock (at most {window_s:g} s allowed)"
    return None


def ip_allowed(client_ip: str, allowed: tuple[str, ...]) -> bool:
    """True when `allowed` is empty or names `client_ip` (an address or a CIDR network)."""
    if not allowed:
        return True
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    for entry in allowed:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False
