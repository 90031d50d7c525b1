"""Signed apps (seed 004): each API key's app for HMAC-signed server-to-server calls.

An app has a public `app_id` and an `app_secret` shown once, at creation. Verifying
an HMAC needs the secret itself, so it is kept sealed with Fernet under a key derived
from the farm's secret for secrets at rest (`JOBFARM_MODEL_KEY_SECRET`, with a label
of its own) and opened only to verify a call; views never carry it. The app is its
key: revoking the key ends the app. An app may name the client IPs it calls from
(empty: any) and a default webhook for jobs given no callback.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass

from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ApiKey, SignedApp

APP_ID_PREFIX = "app_"
SECRET_PREFIX = "as_"


class AppNotFound(LookupError):
    """No app has this id."""


@dataclass(frozen=True)
class NewApp:
    """Shown once, at creation."""

    app_id: str
    app_secret: str


@dataclass(frozen=True)
class LiveApp:
    """An app of a live key, with its secret opened, for verifying one call."""

    app_id: str
    key_id: str
    tenant_id: str
    secret: str
    allowed_ips: tuple[str, ...]
    webhook_url: str | None


def _fernet(farm_secret: str) -> Fernet:
    digest = hashlib.sha256(b"jobfarm signed app secrets\x00" + farm_secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def create_for_key(session: Session, key_id: str, farm_secret: str) -> NewApp:
    """A new app for the API key `key_id`."""
    app = NewApp(
        app_id=APP_ID_PREFIX + secrets.token_hex(12),
        app_secret=SECRET_PREFIX + secrets.token_urlsafe(32),
    )
    sealed = _fernet(farm_secret).encrypt(app.app_secret.encode()).decode()
    session.add(SignedApp(app_id=app.app_id, key_id=key_id, secret_sealed=sealed, allowed_ips=[]))
    session.flush()
    return app


def create_for_api_key(session: Session, api_key: str, farm_secret: str) -> NewApp:
    """A new app for the key presented whole (`jf_<prefix>_<secret>`), just created."""
    prefix = api_key.split("_")[1]
    key_id = session.scalars(select(ApiKey.id).where(ApiKey.prefix == prefix)).one()
    return create_for_key(session, key_id, farm_secret)


def live(session: Session, app_id: str, farm_secret: str) -> LiveApp | None:
    """The app `app_id` while its key is live, its secret opened; None otherwise."""
    row = session.get(SignedApp, app_id)
    if row is None:
        return None
    key = session.get(ApiKey, row.key_id)
    if key is None or key.revoked_at is not None:
        return None
    return LiveApp(
        app_id=row.app_id,
        key_id=row.key_id,
        tenant_id=key.tenant_id,
        secret=_fernet(farm_secret).decrypt(row.secret_sealed.encode()).decode(),
        allowed_ips=tuple(row.allowed_ips or ()),
        webhook_url=row.webhook_url,
    )


def _row(session: Session, app_id: str) -> SignedApp:
    row = session.get(SignedApp, app_id)
    if row is None:
        raise AppNotFound(app_id)
    return row


def set_allowed_ips(session: Session, app_id: str, ips: list[str]) -> None:
    """Calls signed by the app are taken only from these IPs; an empty list lifts it."""
    _row(session, app_id).allowed_ips = list(dict.fromkeys(ips))


def set_webhook(session: Session, app_id: str, url: str | None) -> None:
    """Jobs the app submits without a `callback_url` post their events here (None: none)."""
    _row(session, app_id).webhook_url = url
