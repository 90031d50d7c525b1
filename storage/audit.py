"""The audit log: who did what to which object, and through which request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from storage.models import AuditEvent, utcnow

# Core, built once: an event is written at once, without a unit of work's flush.
_INSERT = insert(cast(Table, AuditEvent.__table__))


@dataclass(frozen=True)
class AuditView:
    at: datetime
    tenant_id: str | None
    actor: str
    action: str
    object_id: str | None
    request_id: str | None
    detail: dict[str, Any]


def url_for_the_record(url: str) -> str:
    """A URL as the audit log keeps it: scheme, host, port and path, without the user
    name, password, query or fragment that may carry a receiver's credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def record(
    session: Session,
    action: str,
    actor: str,
    tenant_id: str | None = None,
    object_id: str | None = None,
    request_id: str | None = None,
    **detail: Any,
) -> None:
    """Add one event to the audit log, in the caller's transaction."""
    event = {
        "tenant_id": tenant_id,
        "actor": actor,
        "action": action,
        "object_id": object_id,
        "request_id": request_id,
        "detail": detail,
        "at": utcnow(),
    }
    session.execute(_INSERT, event)


def recent(session: Session, tenant_id: str | None = None, limit: int = 100) -> list[AuditView]:
    """The newest events, optionally for one tenant."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if tenant_id is not None:
        stmt = stmt.where(AuditEvent.tenant_id == tenant_id)
    return [
        AuditView(r.at, r.tenant_id, r.actor, r.action, r.object_id, r.request_id, r.detail)
        for r in session.scalars(stmt)
    ]
