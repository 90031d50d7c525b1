"""Standard Webhooks signatures: pure functions of secret, id, timestamp and body."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"


def secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, as Standard Webhooks defines it."""
    signed = f"{msg_id}.{timestamp}.{body}".encode()
    mac = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signature_header(secrets: Sequence[str], msg_id: str, timestamp: int, body: str) -> str:
    """One `v1,...` signature per secret, space separated: during a rotation's overlap a
    receiver holding either secret verifies the delivery."""
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets)


def webhook_headers(
    secrets: str | Sequence[str], msg_id: str, timestamp: int, body: str
) -> dict[str, str]:
    """The headers of one delivery attempt, signed with each of `secrets`."""
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(keys, msg_id, timestamp, body),
    }
