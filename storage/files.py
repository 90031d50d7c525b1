"""Uploaded files: their records, lookup by tenant, and retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.blobs import StoredBlob
from storage.models import StoredFile, new_id, utcnow


class FileNotFound(LookupError):
    """No such file for this tenant, or it has expired."""


@dataclass(frozen=True)
class FileView:
    id: str
    tenant_id: str
    name: str
    size: int
    sha256: str
    blob_key: str
    created_at: datetime
    expires_at: datetime | None

    @classmethod
    def from_row(cls, row: StoredFile) -> FileView:
        return cls(
            row.id,
            row.tenant_id,
            row.name,
            row.size,
            row.sha256,
            row.blob_key,
            row.created_at,
            row.expires_at,
        )


def new_file_id() -> str:
    return new_id("file")


def upload_key(tenant_id: str, file_id: str) -> str:
    return f"uploads/{tenant_id}/{file_id}"


def record_file(
    session: Session,
    tenant_id: str,
    file_id: str,
    name: str,
    blob: StoredBlob,
    retention_days: int | None,
) -> FileView:
    """Record an uploaded blob; `retention_days=None` keeps it until deleted."""
    expires = None if retention_days is None else utcnow() + timedelta(days=retention_days)
    row = StoredFile(
        id=file_id,
        tenant_id=tenant_id,
        name=name,
        size=blob.size,
        sha256=blob.sha256,
        blob_key=blob.key,
        expires_at=expires,
    )
    session.add(row)
    session.flush()
    return FileView.from_row(row)


def get_file(session: Session, tenant_id: str, file_id: str) -> FileView:
    """The tenant's live file, or `FileNotFound` (also when purged, expired or another's)."""
    row = session.get(StoredFile, file_id)
    if row is None or row.tenant_id != tenant_id or row.purged_at is not None:
        raise FileNotFound(file_id)
    if row.expires_at is not None and row.expires_at <= utcnow():
        raise FileNotFound(file_id)
    return FileView.from_row(row)


def take_expired(session: Session, now: datetime, limit: int = 1000) -> list[FileView]:
    """Mark up to `limit` expired files purged; returns them so their blobs can go."""
    rows = session.scalars(
        select(StoredFile)
        .where(StoredFile.expires_at <= now, StoredFile.purged_at.is_(None))
        .limit(limit)
    ).all()
    for row in rows:
        row.purged_at = now
    return [FileView.from_row(row) for row in rows]
