"""Batches: many jobs stored in one transaction, counted as they finish, read back by page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Json
from sqlalchemy import JSON, func, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from storage.db import is_postgresql
from storage.jobs import JobView, NewJob
from storage.models import JOBS, Batch, Job, utcnow
from storage.states import JobState


class BatchNotFound(LookupError):
    """No such batch for this tenant."""


@dataclass(frozen=True)
class BatchView:
    id: str
    tenant_id: str
    dialect: str
    callback_url: str | None
    total: int
    finished: int
    succeeded: int
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def from_row(cls, row: Batch) -> BatchView:
        return cls(
            id=row.id,
            tenant_id=row.tenant_id,
            dialect=row.dialect,
            callback_url=row.callback_url,
            total=row.total,
            finished=row.finished,
            succeeded=row.succeeded,
            created_at=row.created_at,
            completed_at=row.completed_at,
        )


def create_batch(
    session: Session,
    batch_id: str,
    tenant_id: str,
    dialect: str,
    callback_url: str | None,
    tasks: list[NewJob],
) -> tuple[BatchView, set[str]]:
    """Store the batch and all its jobs in the backlog, in the caller's transaction, with
    one COPY (PostgreSQL) or one multi-row INSERT; returns the queues they wait on, to
    release. Each task takes the batch's id and callback URL: every task's result is
    posted there, then the batch's completion."""
    now = utcnow()
    batch = Batch(
        id=batch_id,
        tenant_id=tenant_id,
        dialect=dialect,
        callback_url=callback_url,
        total=len(tasks),
        created_at=now,
    )
    session.add(batch)
    session.flush()
    rows = [task.row(now, batch_id=batch_id, callback_url=callback_url) for task in tasks]
    if rows and is_postgresql(session):
        copy_rows(session, rows)
    elif rows:
        # Core, not the ORM's bulk path: the rows need no objects, only the INSERT.
        session.connection().execute(insert(JOBS), rows)
    return BatchView.from_row(batch), {task.queue for task in tasks}


def copy_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert job rows (all naming the same columns) with PostgreSQL's COPY, in the
    session's transaction: no value is bound and planned as a statement's parameter,
    as multi-row INSERTs do (a 10,000-task batch answered in 0.6 s instead of 0.9 s)."""
    names = list(rows[0])
    quote = session.get_bind().dialect.identifier_preparer.quote
    json_columns = {name for name in names if isinstance(JOBS.c[name].type, JSON)}
    sql = f"COPY jobs ({', '.join(quote(name) for name in names)}) FROM STDIN"
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(
                    [Json(row[name]) if name in json_columns else row[name] for name in names]
                )
    except psycopg.Error as exc:
        # As SQLAlchemy wraps a statement's errors, so that they are answered alike (text
        # the database cannot store: 400; the database down: 503).
        raise DBAPIError.instance(sql, None, exc, psycopg.Error) from exc


def get_batch(session: Session, tenant_id: str, batch_id: str) -> BatchView:
    """The tenant's batch, or `BatchNotFound` (also for another tenant's)."""
    row = session.get(Batch, batch_id, populate_existing=True)
    if row is None or row.tenant_id != tenant_id:
        raise BatchNotFound(batch_id)
    return BatchView.from_row(row)


def list_batches(
    session: Session, tenant_id: str, limit: int, offset: int
) -> tuple[list[BatchView], int]:
    """One page of the tenant's batches, newest first, and the total count."""
    where = Batch.tenant_id == tenant_id
    total = session.scalar(select(func.count()).select_from(Batch).where(where)) or 0
    rows = session.scalars(
        select(Batch)
        .where(where)
        .order_by(Batch.created_at.desc(), Batch.id)
        .limit(limit)
        .offset(offset)
    )
    return [BatchView.from_row(row) for row in rows], total


def state_counts(session: Session, batch_id: str) -> dict[JobState, int]:
    """How many of the batch's jobs are in each state (every state present, maybe 0)."""
    rows = session.execute(
        select(Job.state, func.count()).where(Job.batch_id == batch_id).group_by(Job.state)
    ).all()
    counts = dict.fromkeys(JobState, 0)
    for state, count in rows:
        counts[JobState(state)] = count
    return counts


def tasks_page(session: Session, batch_id: str, limit: int, offset: int) -> list[JobView]:
    """The batch's jobs ordered by the client's task id, one page."""
    rows = session.scalars(
        select(Job)
        .where(Job.batch_id == batch_id)
        .order_by(Job.client_ref, Job.id)
        .limit(limit)
        .offset(offset)
    )
    return [JobView.from_row(row) for row in rows]
