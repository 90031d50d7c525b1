"""The registry of content models: per tenant, with API keys encrypted at rest.

Keys are sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from
`JOBFARM_MODEL_KEY_SECRET`; views never carry them. Only the worker that calls a
model opens its key, through `spec_for`.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ContentModel, utcnow


class ModelNotFound(LookupError):
    """No such model for this tenant."""


@dataclass(frozen=True)
class ModelView:
    """A registered model as clients see it: everything but the key."""

    id: int
    name: str
    provider: str
    model_name: str
    api_base: str | None
    config: dict[str, Any]
    credits_cost: int
    is_active: bool
    has_api_key: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: ContentModel) -> ModelView:
        return cls(
            id=row.id,
            name=row.name,
            provider=row.provider,
            model_name=row.model_name,
            api_base=row.api_base,
            config=dict(row.config or {}),
            credits_cost=row.credits_cost,
            is_active=row.is_active,
            has_api_key=row.api_key_encrypted is not None,
            created_at=row.created_at,
        )


@dataclass(frozen=True)
class ModelFields:
    """What a client sets on a model; None leaves a field as it is on update."""

    name: str | None = None
    provider: str | None = None
    model_name: str | None = None
    api_base: str | None = None
    api_key: str | None = None
    config: dict[str, Any] | None = None
    credits_cost: int | None = None
    is_active: bool | None = None


def _fernet(secret: str) -> Fernet:
    # Fernet wants 32 url-safe base64 bytes; derive them from the secret, labelled.
    digest = hashlib.sha256(b"jobfarm content model keys\x00" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret: str, api_key: str) -> str:
    return _fernet(secret).encrypt(api_key.encode()).decode()


def unseal(secret: str, sealed: str) -> str | None:
    """The key, or None when it was sealed under another secret."""
    try:
        return _fernet(secret).decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


def create(session: Session, tenant_id: str, fields: ModelFields, secret: str) -> ModelView:
    row = ContentModel(tenant_id=tenant_id, config={})
    _apply(row, fields, secret)
    session.add(row)
    session.flush()
    return ModelView.from_row(row)


def update(
    session: Session, tenant_id: str, model_id: int, fields: ModelFields, secret: str
) -> ModelView:
    row = _owned(session, tenant_id, model_id)
    _apply(row, fields, secret)
    row.updated_at = utcnow()
    session.flush()
    return ModelView.from_row(row)


def delete(session: Session, tenant_id: str, model_id: int) -> None:
    session.delete(_owned(session, tenant_id, model_id))
    session.flush()


def get(session: Session, tenant_id: str, model_id: int) -> ModelView:
    return ModelView.from_row(_owned(session, tenant_id, model_id))


def listed(
    session: Session, tenant_id: str, provider: str | None = None, is_active: bool | None = None
) -> list[ModelView]:
    stmt = select(ContentModel).where(ContentModel.tenant_id == tenant_id)
    if provider is not None:
        stmt = stmt.where(ContentModel.provider == provider)
    if is_active is not None:
        stmt = stmt.where(ContentModel.is_active == is_active)
    return [ModelView.from_row(r) for r in session.scalars(stmt.order_by(ContentModel.id))]


def spec_for(session: Session, tenant_id: str, model_id: int, secret: str) -> dict[str, Any]:
    """What a job needs to call the model, key included: for the worker only, never a
    response. The provider "local" needs no key."""
    row = _owned(session, tenant_id, model_id)
    api_key = unseal(secret, row.api_key_encrypted) if row.api_key_encrypted else None
    return {
        "provider": row.provider,
        "model_name": row.model_name,
        "api_base": row.api_base,
        "api_key": api_key,
        "config": dict(row.config or {}),
    }


def _owned(session: Session, tenant_id: str, model_id: int) -> ContentModel:
    row = session.get(ContentModel, model_id)
    if row is None or row.tenant_id != tenant_id:
        raise ModelNotFound(model_id)
    return row


def _apply(row: ContentModel, fields: ModelFields, secret: str) -> None:
    for name in ("name", "provider", "model_name", "api_base", "credits_cost", "is_active"):
        value = getattr(fields, name)
        if value is not None:
            setattr(row, name, value)
    if fields.config is not None:
        row.config = dict(fields.config)
    if fields.api_key is not None:
        row.api_key_encrypted = seal(secret, fields.api_key) if fields.api_key else None
