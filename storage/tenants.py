"""Tenants and their API keys. Keys are stored only as SHA-256 hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.db import is_postgresql
from storage.models import ApiKey, Tenant, new_id, utcnow

KEY_PREFIX = "jf"
# PostgreSQL advisory lock held while a tenant is numbered and created.
TENANT_CREATION_LOCK = 0x6A66_0007


@dataclass(frozen=True)
class Credentials:
    """Shown once, at creation: the API key and the tenant's webhook signing secret."""

    tenant_id: str
    api_key: str
    webhook_secret: str
    merchant_id: int


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: which tenant, through which key."""

    tenant_id: str
    key_id: str


def hash_key(secret_part: str) -> str:
    return hashlib.sha256(secret_part.encode()).hexdigest()


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def create_key(session: Session, tenant_name: str) -> Credentials:
    """A new API key for the tenant, creating the tenant on first use."""
    tenant = tenant_named(session, tenant_name)
    prefix = secrets.token_hex(6)
    secret_part = secrets.token_urlsafe(32)
    session.add(
        ApiKey(id=new_id("key"), tenant_id=tenant.id, prefix=prefix, key_hash=hash_key(secret_part))
    )
    return Credentials(
        tenant_id=tenant.id,
        api_key=f"{KEY_PREFIX}_{prefix}_{secret_part}",
        webhook_secret=tenant.webhook_secret,
        merchant_id=tenant.merchant_id,
    )


def tenant_named(session: Session, tenant_name: str, attempts: int = 5) -> Tenant:
    """The tenant of this name, created if new. Its merchant id is the next number,
    taken in the INSERT. Creations take turns: on PostgreSQL under a transaction-level
    advisory lock, on SQLite under its one writer. Should one still race (a row
    inserted elsewhere), the unique index refuses it and this one tries again in a
    fresh savepoint."""
    if is_postgresql(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TENANT_CREATION_LOCK})
    for _ in range(attempts - 1):
        try:
            with session.begin_nested():
                return _tenant_named(session, tenant_name)
        except IntegrityError:
            continue
    return _tenant_named(session, tenant_name)


def _tenant_named(session: Session, tenant_name: str) -> Tenant:
    tenant = session.scalars(select(Tenant).where(Tenant.name == tenant_name)).first()
    if tenant is None:
        tenant = Tenant(id=new_id("ten"), name=tenant_name, webhook_secret=new_webhook_secret())
        session.add(tenant)
        session.flush()
    return tenant


def tenant_of_merchant(session: Session, merchant_id: int) -> str | None:
    """The id of the tenant with this merchant id, or None."""
    return session.scalar(select(Tenant.id).where(Tenant.merchant_id == merchant_id))


def authenticate(session: Session, presented: str) -> Caller | None:
    """The caller behind an API key, or None for a malformed, unknown or revoked key."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    _, prefix, secret_part = parts
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, hash_key(secret_part)):
        return None
    return Caller(tenant_id=row.tenant_id, key_id=row.id)


def key_is_live(session: Session, key_id: str) -> bool:
    """True while the API key exists and is not revoked (tokens it issued stay valid)."""
    return live_key_tenant(session, key_id) is not None


def live_key_tenant(session: Session, key_id: str) -> str | None:
    """The tenant of a live (unrevoked) API key; None if the key is unknown or revoked."""
    row = session.get(ApiKey, key_id)
    return row.tenant_id if row is not None and row.revoked_at is None else None


class KeyNotFound(LookupError):
    """No API key has this prefix."""


def revoke_key(session: Session, presented: str) -> Caller:
    """Revoke the key given whole or by its prefix (`jf_<prefix>`); AccessTokens it
    issued stop working with it. `KeyNotFound` if there is no such key."""
    parts = presented.strip().split("_")
    prefix = parts[1] if len(parts) >= 2 and parts[0] == KEY_PREFIX else presented.strip()
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if row is None:
        raise KeyNotFound(prefix)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return Caller(tenant_id=row.tenant_id, key_id=row.id)


def tenant_id_of(session: Session, name_or_id: str) -> str | None:
    """The id of the tenant with this name or id, or None."""
    row = (
        session.get(Tenant, name_or_id)
        or session.scalars(select(Tenant).where(Tenant.name == name_or_id)).first()
    )
    return None if row is None else row.id
