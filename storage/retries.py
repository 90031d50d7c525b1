"""Retrying ended jobs, and the dead letters: failed jobs the farm will not try again.

A retry starts a failed or canceled job over as a new attempt of the same job (see
`jobs.start_over`): it waits in the backlog and is released as any job is, and its
final state records a webhook delivery of its own, as any end does. Its batch counts
it as unfinished again, and completes (and reports) anew when the job ends.

A job that reserved credits is not retried: the ledger holds one reservation and one
settlement per job, already made, so a rerun would either run free on its refund or
be charged a second time. Submitting it again reserves afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from storage import credits, jobs
from storage.jobs import JobView
from storage.models import Batch, CreditTransaction, Job
from storage.states import IllegalTransition, JobState, can_retry

# The most jobs one bulk retry starts over: a request's work stays bounded.
MAX_BULK_RETRY = 500


class CreditsSettled(Exception):
    """The job's credits were settled when it ended; it is submitted again instead."""


@dataclass(frozen=True)
class Retried:
    """A job started over, and the state it left."""

    job: JobView
    previous: JobState


@dataclass(frozen=True)
class RetryFilter:
    """Which of a tenant's ended jobs a bulk retry starts over, oldest first."""

    state: JobState = JobState.FAILED
    kind: str | None = None
    batch_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    limit: int = 100


def as_stored_utc(at: datetime) -> datetime:
    """A client's timestamp as the database stores them: naive UTC (naive input is UTC)."""
    if at.tzinfo is None:
        return at
    try:
        return at.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        # Past datetime's range once in UTC: the range's end bounds every stored time.
        return datetime.min if at.year == datetime.min.year else datetime.max


def owner_of(session: Session, job_id: str) -> str | None:
    """The tenant of job `job_id` (None without such a job): for the operator, who
    names a job without its tenant."""
    return session.scalar(select(Job.tenant_id).where(Job.id == job_id))


def retry(session: Session, tenant_id: str, job_id: str, more_attempts: int) -> Retried:
    """Start the tenant's failed or canceled job over. `JobNotFound` for no such job of
    the tenant, `IllegalTransition` for a job in another state (a racing retry's
    included), `CreditsSettled` for a job that reserved credits."""
    job = jobs.get_job(session, tenant_id, job_id)
    if not can_retry(job.state):
        raise IllegalTransition(job.state, JobState.QUEUED)
    if credits.reserved_for(session, job_id):
        raise CreditsSettled(job_id)
    row = jobs.start_over(session, tenant_id, job_id, more_attempts)
    if row is None:
        raise IllegalTransition(jobs.get_job(session, tenant_id, job_id).state, JobState.QUEUED)
    return _started_over(session, row, job.state)


def retry_matching(
    session: Session, tenant_id: str, wanted: RetryFilter, more_attempts: int
) -> tuple[list[Retried], bool]:
    """Start over up to `wanted.limit` of the tenant's jobs the filter selects; returns
    them and whether more matched. A job a concurrent retry took first is left out."""
    ids, more = matching(session, tenant_id, wanted)
    retried = []
    for job_id in ids:
        row = jobs.start_over(session, tenant_id, job_id, more_attempts)
        if row is not None:
            retried.append(_started_over(session, row, wanted.state))
    return retried, more


def matching(session: Session, tenant_id: str, wanted: RetryFilter) -> tuple[list[str], bool]:
    """The ids of up to `wanted.limit` retryable jobs the filter selects, oldest first,
    and whether more matched. Jobs that reserved credits are never selected."""
    if not can_retry(wanted.state):
        return [], False
    reserved = exists().where(
        CreditTransaction.job_id == Job.id, CreditTransaction.kind == credits.RESERVE
    )
    where = [Job.tenant_id == tenant_id, Job.state == wanted.state.value, ~reserved]
    if wanted.kind is not None:
        where.append(Job.kind == wanted.kind)
    if wanted.batch_id is not None:
        where.append(Job.batch_id == wanted.batch_id)
    if wanted.created_after is not None:
        where.append(Job.created_at >= as_stored_utc(wanted.created_after))
    if wanted.created_before is not None:
        where.append(Job.created_at < as_stored_utc(wanted.created_before))
    ids = list(
        session.scalars(
            select(Job.id).where(*where).order_by(Job.created_at, Job.id).limit(wanted.limit + 1)
        )
    )
    return ids[: wanted.limit], len(ids) > wanted.limit


def _started_over(session: Session, row: Job, previous: JobState) -> Retried:
    if row.batch_id:
        _reopen_batch(session, row.batch_id)
    return Retried(JobView.from_row(row), previous)


def _reopen_batch(session: Session, batch_id: str) -> None:
    """Count a retried task as unfinished again (it ended failed or canceled, so it was
    never among the batch's succeeded), and the batch as not completed: its last task
    to end completes it again, with a new `batch.completed` delivery."""
    session.execute(
        update(Batch)
        .where(Batch.id == batch_id, Batch.finished > 0)
        .values(finished=Batch.finished - 1, completed_at=None)
        .execution_options(synchronize_session=False)
    )


def dead_letters(
    session: Session, tenant_id: str, limit: int, offset: int, kind: str | None = None
) -> tuple[list[JobView], int]:
    """One page of the tenant's dead letters, latest to fail first, and how many in all.

    Every failed job is one: it either used up its attempts or failed with an error no
    attempt would cure, and the farm will not run it again unless retried."""
    where = [Job.tenant_id == tenant_id, Job.state == JobState.FAILED.value]
    if kind is not None:
        where.append(Job.kind == kind)
    return jobs.page_of_jobs(session, where, Job.finished_at.desc(), limit, offset)
