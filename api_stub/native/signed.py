"""Callers of the native API who sign their requests (seed 004's server-to-server calls).

A call with `X-App-Id` is a signed call: it must also carry `X-Timestamp` and
`X-Signature` (see `api_stub.signing`), come from an IP the app allows, within the
timestamp window, and not repeat a signature already taken (each is remembered in
Redis for the window, keyed by app id and signature). Any failure is an
`Unauthenticated` (403 `Forbidden` for an IP outside the allowlist) naming the header
at fault in `field` and the reason in `message`; the gate throttles the refusal per
IP before answering it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

import redis
from sqlalchemy.orm import Session

from api_stub import signing
from api_stub.callers import Principal
from api_stub.dialect import Call
from api_stub.errors import Forbidden, Unauthenticated, Unavailable
from config.settings import Settings
from storage import signed_apps
from workers.resources import redis_client

log = logging.getLogger(__name__)

REPLAY_PREFIX = "jobfarm:signed:seen:"


@dataclass(frozen=True)
class SignedPrincipal(Principal):
    """A caller that signed its request as one of its key's apps."""

    app_id: str = ""
    webhook_url: str | None = None


def is_signed(call: Call) -> bool:
    """True when the call presents itself as a signed app."""
    return "x-app-id" in call.headers


def signed_path(call: Call) -> str:
    """PATH in the string to sign: the path as sent, with `?query` when there is one."""
    return f"{call.path}?{call.query}" if call.query else call.path


def refuse(field: str, reason: str) -> Unauthenticated:
    return Unauthenticated(f"{field} {reason}", field=field)


def by_signature(session: Session, settings: Settings, call: Call) -> SignedPrincipal:
    """The app behind a signed call; raises the refusal naming what failed."""
    app_id, timestamp, signature = (call.headers.get(h, "") for h in signing.HEADERS)
    for header, value in zip(
        ("X-App-Id", "X-Timestamp", "X-Signature"), (app_id, timestamp, signature), strict=True
    ):
        if not value:
            raise refuse(header, "is required for a signed call")
    fault = signing.timestamp_fault(timestamp, int(time.time() * 1000), settings.signed_window_s)
    if fault:
        raise refuse("X-Timestamp", fault)
    app = signed_apps.live(session, app_id, settings.model_key_secret)
    if app is None:
        raise refuse("X-App-Id", "names no live app")
    if not signing.ip_allowed(call.client_ip, app.allowed_ips):
        raise Forbidden(f"client IP {call.client_ip} is not in the app's allowlist", field="ip")
    message = signing.string_to_sign(call.method, signed_path(call), timestamp, call.body or b"")
    if not signing.matches(app.secret, message, signature):
        raise refuse("X-Signature", "does not match the request")
    if not first_use(app.app_id, signature, settings.signed_window_s):
        raise refuse("X-Signature", "was already used (replayed request)")
    return SignedPrincipal(
        tenant_id=app.tenant_id,
        key_id=app.key_id,
        actor=f"app:{app.app_id}",
        via="api_key",
        app_id=app.app_id,
        webhook_url=app.webhook_url,
    )


def first_use(app_id: str, signature: str, window_s: float) -> bool:
    """Remember the signature for twice the window (a timestamp may be that far from
    another); False when it was already taken. A Redis outage refuses the call (503):
    replay protection is not waived."""
    digest = signing.decoded(signature) or signature.encode()
    key = f"{REPLAY_PREFIX}{app_id}:{hashlib.sha256(digest).hexdigest()}"
    try:
        return bool(redis_client().set(key, "1", nx=True, ex=math.ceil(2 * window_s)))
    except redis.RedisError as exc:
        log.warning("replay check unavailable: %s", exc)
        raise Unavailable() from None
