"""The content platform's creations (seed 003): a tenant's generated items, the content
jobs of kinds writing, image, video and ppt that succeeded, with the user's own edits.

A creation is its job (its id is the job's id); editing one keeps the new title and
content beside the job (`content_creations`), deleting one hides it from the tenant's
creations for good. Every query is scoped by the tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.models import Base, Job, utcnow
from storage.states import JobState

DIALECT = "content"
KINDS = ("writing", "image", "video", "ppt")


class CreationEdit(Base):
    """A user's changes to a creation: a title, a content, or its deletion."""

    __tablename__ = "content_creations"

    job_id: Mapped[str] = mapped_column(String(40), ForeignKey("jobs.id"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(40), ForeignKey("tenants.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    content: Mapped[str | None] = mapped_column(Text, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class Creation:
    """A generated item: its job's kind, params, result and outputs, and the edits."""

    id: str
    kind: str
    params: dict[str, Any]
    result: dict[str, Any]
    outputs: list[dict[str, Any]]
    created_at: datetime
    title: str | None
    content: str | None


class CreationNotFound(Exception):
    """No such creation in this tenant (or it was deleted)."""


def _query(tenant_id: str) -> Any:
    return (
        select(Job, CreationEdit)
        .outerjoin(CreationEdit, CreationEdit.job_id == Job.id)
        .where(
            Job.tenant_id == tenant_id,
            Job.dialect == DIALECT,
            Job.kind.in_(KINDS),
            Job.state == JobState.SUCCEEDED.value,
            CreationEdit.deleted_at.is_(None),
        )
    )


def _creation(job: Job, edit: CreationEdit | None) -> Creation:
    return Creation(
        id=job.id,
        kind=job.kind,
        params=dict(job.params or {}),
        result=dict(job.result or {}),
        outputs=list(job.outputs or []),
        created_at=job.created_at,
        title=edit.title if edit else None,
        content=edit.content if edit else None,
    )


def listed(
    session: Session, tenant_id: str, kind: str | None, limit: int, offset: int
) -> tuple[list[Creation], int]:
    """One page of the tenant's creations, newest first, of `kind` or all; and the total."""
    query = _query(tenant_id)
    if kind is not None:
        query = query.where(Job.kind == kind)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(
        query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit).offset(offset)
    ).all()
    return [_creation(job, edit) for job, edit in rows], int(total or 0)


def get(session: Session, tenant_id: str, creation_id: str) -> Creation:
    """The tenant's creation, or `CreationNotFound`."""
    row = session.execute(_query(tenant_id).where(Job.id == creation_id)).first()
    if row is None:
        raise CreationNotFound(creation_id)
    return _creation(row[0], row[1])


def edit(
    session: Session, tenant_id: str, creation_id: str, title: str | None, content: str | None
) -> Creation:
    """Keep a new title and/or content for the creation; `CreationNotFound` if none."""
    get(session, tenant_id, creation_id)
    row = _edit_row(session, tenant_id, creation_id)
    if title is not None:
        row.title = title
    if content is not None:
        row.content = content
    row.updated_at = utcnow()
    session.flush()
    return get(session, tenant_id, creation_id)


def delete(session: Session, tenant_id: str, creation_id: str) -> None:
    """Hide the creation from the tenant for good; `CreationNotFound` if none."""
    get(session, tenant_id, creation_id)
    row = _edit_row(session, tenant_id, creation_id)
    row.deleted_at = row.updated_at = utcnow()
    session.flush()


def _edit_row(session: Session, tenant_id: str, creation_id: str) -> CreationEdit:
    row = session.get(CreationEdit, creation_id)
    if row is None:
        row = CreationEdit(job_id=creation_id, tenant_id=tenant_id)
        session.add(row)
    return row
