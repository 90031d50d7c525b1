"""The load on each job queue, read in one short session: what waits, what runs,
what finished lately, and how much of it is one tenant's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from storage.models import Job
from storage.states import JobState


@dataclass(frozen=True)
class QueueLoad:
    """One queue's counts: farm-wide `waiting` (queued), `running` and `finished` since
    the window's start, and the tenant's own unfinished jobs there (`backlog`)."""

    queue: str
    waiting: int = 0
    running: int = 0
    finished: int = 0
    backlog: int = 0


def queue_loads(
    session: Session, tenant_id: str, queues: tuple[str, ...], since: datetime
) -> list[QueueLoad]:
    """Every queue in `queues`, in that order, with its counts (zeros if idle)."""
    active = _active_counts(session, tenant_id)
    finished = _finished_counts(session, since)
    loads = []
    for queue in queues:
        waiting, running, backlog = active.get(queue, (0, 0, 0))
        loads.append(QueueLoad(queue, waiting, running, finished.get(queue, 0), backlog))
    return loads


def _active_counts(session: Session, tenant_id: str) -> dict[str, tuple[int, int, int]]:
    """queue → (queued, running, the tenant's queued + running)."""
    unfinished = (JobState.QUEUED.value, JobState.RUNNING.value)
    rows = session.execute(
        select(
            Job.queue,
            func.sum(case((Job.state == JobState.QUEUED.value, 1), else_=0)),
            func.sum(case((Job.state == JobState.RUNNING.value, 1), else_=0)),
            func.sum(case((Job.tenant_id == tenant_id, 1), else_=0)),
        )
        .where(Job.state.in_(unfinished))
        .group_by(Job.queue)
    ).all()
    return {queue: (int(q or 0), int(r or 0), int(t or 0)) for queue, q, r, t in rows}


def _finished_counts(session: Session, since: datetime) -> dict[str, int]:
    """queue → jobs that ended (any final state) at or after `since`."""
    rows = session.execute(
        select(Job.queue, func.count()).where(Job.finished_at >= since).group_by(Job.queue)
    ).all()
    return {queue: int(count) for queue, count in rows}
