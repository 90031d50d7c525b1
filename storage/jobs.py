"""The job state machine: the only code that changes a job's state.

Every transition is one conditional UPDATE (compare-and-set on the current state
and, for a running job, on the run's token), so two processes racing for the same
job cannot both win, on SQLite or PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import credits, webhooks
from storage.models import JOBS, Batch, Job, WebhookEndpoint, new_id, utcnow
from storage.random_ids import uuid4_hex, uuid4_str
from storage.states import (
    FINAL_STATES,
    RETRY_SOURCES,
    IllegalTransition,
    JobState,
    sources_of,
)


class JobNotFound(LookupError):
    """No such job for this tenant."""


class IdempotencyConflict(Exception):
    """This Idempotency-Key was used before with a different request."""


@dataclass(frozen=True)
class JobView:
    """A job as plain data, for the API and the workers."""

    id: str
    tenant_id: str
    kind: str
    queue: str
    state: JobState
    params: dict[str, Any]
    input_file_id: str | None
    input_url: str | None
    callback_url: str | None
    batch_id: str | None
    dispatch_id: str | None
    dialect: str
    client_ref: str | None
    priority: int
    released_at: datetime | None
    attempts: int
    max_attempts: int
    completion: float
    stage: str | None
    result: dict[str, Any] | None
    outputs: list[dict[str, Any]]
    error_code: str | None
    error_message: str | None
    worker: str | None
    worker_pid: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row: Job | Row[Any]) -> JobView:
        """The job as `row` holds it: an ORM row, a Core one of all its columns, or any
        object with them as attributes (`_as_inserted`)."""
        return cls(
            id=row.id,
            tenant_id=row.tenant_id,
            kind=row.kind,
            queue=row.queue,
            state=JobState(row.state),
            params=row.params or {},
            input_file_id=row.input_file_id,
            input_url=row.input_url,
            callback_url=row.callback_url,
            batch_id=row.batch_id,
            dispatch_id=row.dispatch_id,
            dialect=row.dialect or "native",
            client_ref=row.client_ref,
            priority=row.priority,
            released_at=row.released_at,
            attempts=row.attempts,
            max_attempts=row.max_attempts,
            completion=row.completion,
            stage=row.stage,
            result=row.result,
            outputs=list(row.outputs or []),
            error_code=row.error_code,
            error_message=row.error_message,
            worker=row.worker,
            worker_pid=row.worker_pid,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )


# What a job's event says of it, taken when the event is recorded. A job retried since
# (the same id, a new attempt) is another story: its earlier failure's webhook, sent
# late or replayed, still tells of that failure.
SNAPSHOT_FIELDS = (
    "state",
    "dispatch_id",
    "worker",
    "worker_pid",
    "released_at",
    "max_attempts",
    "attempts",
    "completion",
    "stage",
    "result",
    "outputs",
    "error_code",
    "error_message",
    "started_at",
    "finished_at",
)
_SNAPSHOT_TIMES = ("released_at", "started_at", "finished_at")


def snapshot(job: JobView) -> dict[str, Any]:
    """The fields of a finished job its event tells of, as JSON."""
    taken: dict[str, Any] = {name: getattr(job, name) for name in SNAPSHOT_FIELDS}
    taken["state"] = job.state.value
    for name in _SNAPSHOT_TIMES:
        taken[name] = taken[name].isoformat() if taken[name] else None
    return taken


def as_recorded(job: JobView, taken: dict[str, Any] | None) -> JobView:
    """The job as its event recorded it: the snapshot over the current row (a delivery
    recorded before snapshots were taken has none, and tells of the row as it is).
    Outputs the row no longer names, purged past their retention, are left out."""
    if not taken:
        return job
    fields = {name: taken[name] for name in SNAPSHOT_FIELDS if name in taken}
    fields["state"] = JobState(fields.get("state", job.state))
    for name in _SNAPSHOT_TIMES:
        if fields.get(name):
            fields[name] = datetime.fromisoformat(fields[name])
    kept = {output["blob_key"] for output in job.outputs}
    fields["outputs"] = [o for o in fields.get("outputs", []) if o.get("blob_key") in kept]
    return replace(job, **fields)


@dataclass(frozen=True)
class NewJob:
    tenant_id: str
    kind: str
    queue: str
    params: dict[str, Any]
    max_attempts: int
    input_file_id: str | None = None
    input_url: str | None = None
    callback_url: str | None = None
    batch_id: str | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None
    dialect: str = "native"
    client_ref: str | None = None
    # The id to give the job; a dialect with its own id format names it (else job_…).
    job_id: str | None = None
    priority: int = 5

    def row(self, now: datetime, **columns: Any) -> dict[str, Any]:
        """The job's columns as a new row waiting in the backlog, its message id chosen;
        `columns` set others (or replace the job's own fields)."""
        row = dict(self.__dict__)
        row["id"] = row.pop("job_id") or new_id("job")
        row.update(
            state=JobState.QUEUED.value,
            dispatch_id=new_dispatch_id(),
            attempts=0,
            completion=0.0,
            outputs=[],
            created_at=now,
            updated_at=now,
            **columns,
        )
        return row


@dataclass(frozen=True)
class Claim:
    """A run's hold on a job: the token that fences it, and which attempt it is."""

    job: JobView
    token: str
    attempt: int


@dataclass(frozen=True)
class Dispatch:
    """A message to send: run job `job_id` as task `dispatch_id` on `queue`."""

    job_id: str
    dispatch_id: str
    queue: str
    kind: str


@dataclass(frozen=True)
class Finished:
    """A job that reached a final state, and the webhook deliveries to send."""

    job: JobView
    delivery_ids: list[str] = field(default_factory=list)


def new_dispatch_id() -> str:
    return uuid4_str()


def _transition(
    session: Session, job_id: str, target: JobState, *conditions: ColumnElement[bool], **values: Any
) -> Job | None:
    """Move one job to `target` if it is in an allowed source state and `conditions` hold;
    returns the row as it now is (one statement: UPDATE … RETURNING), else None."""
    sources = [state.value for state in sources_of(target)]
    stmt = (
        update(Job)
        .where(Job.id == job_id, Job.state.in_(sources), *conditions)
        .values(state=target.value, updated_at=utcnow(), **values)
        .returning(Job)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return session.scalars(stmt).first()


_INSERT_JOB = insert(JOBS)

# The transitions every run makes (its claim, its success) by Core statements built
# once per shape: SQLAlchemy neither builds nor keys them again, and builds no entity.
_prebuilt: dict[tuple[JobState, str, tuple[tuple[str, bool], ...]], Any] = {}
COUNT_UP = JOBS.c.attempts + 1
# Returned by a final transition: whether the job's tenant has an enabled webhook
# endpoint, so that a job's end looks for endpoints only where there are some.
HAS_ENDPOINTS = "tenant_has_endpoints"
# Named in full: SQLite's RETURNING drops the table from a column of the updated table,
# and `tenant_id` alone would be the endpoint's own.
_TENANT_HAS_ENDPOINTS = (
    exists()
    .where(
        WebhookEndpoint.tenant_id == literal_column("jobs.tenant_id"),
        WebhookEndpoint.enabled.is_(true()),
    )
    .label(HAS_ENDPOINTS)
)


def _transition_where(
    session: Session, job_id: str, target: JobState, column: str, equals: Any, **values: Any
) -> Row[Any] | None:
    """`_transition` where the one condition is `column` = `equals`; returns the row's
    columns (and, into a final state, `HAS_ENDPOINTS`). Each of `values` is bound, except
    `COUNT_UP`, which adds one to attempts."""
    shape = (target, column, tuple(sorted((n, v is COUNT_UP) for n, v in values.items())))
    stmt = _prebuilt.get(shape)
    if stmt is None:
        sources = [state.value for state in sources_of(target)]
        setting = {
            name: value if value is COUNT_UP else bindparam(f"v_{name}")
            for name, value in values.items()
        }
        stmt = _prebuilt[shape] = (
            update(JOBS)
            .where(
                JOBS.c.id == bindparam("m_id"),
                JOBS.c.state.in_(sources),
                JOBS.c[column] == bindparam("m_equals"),
            )
            .values(state=target.value, updated_at=bindparam("v_updated_at"), **setting)
            .returning(*JOBS.c, *([_TENANT_HAS_ENDPOINTS] if target in FINAL_STATES else []))
        )
    params = {f"v_{name}": value for name, value in values.items() if value is not COUNT_UP}
    params.update(m_id=job_id, m_equals=equals, v_updated_at=utcnow())
    return session.execute(stmt, params).first()


def create_job(session: Session, new: NewJob) -> tuple[JobView, bool]:
    """Store a queued job; returns it and whether it is new (False: idempotent replay)."""
    if new.idempotency_key:
        existing = _by_idempotency_key(session, new.tenant_id, new.idempotency_key)
        if existing is not None:
            return _replay(existing, new), False
    if not new.idempotency_key:
        # Nothing to collide with (the id is fresh): no savepoint, two statements fewer,
        # and a statement built once instead of a unit of work's flush.
        values = new.row(utcnow())
        session.execute(_INSERT_JOB, values)
        return JobView.from_row(_as_inserted(values)), True
    row = Job(**new.row(utcnow()))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = _by_idempotency_key(session, new.tenant_id, new.idempotency_key or "")
        if existing is None:
            raise
        return _replay(existing, new), False
    return JobView.from_row(row), True


# Every column unset. `NewJob.row` names every column with a server default, so a row
# just inserted holds NULL in those its values do not name.
_UNSET = dict.fromkeys(JOBS.c.keys())


def _as_inserted(values: dict[str, Any]) -> Any:
    """The row that inserting `values` made, as `JobView.from_row` reads one: without
    building an ORM object, which costs more than the INSERT."""
    return SimpleNamespace(**{**_UNSET, **values})


def _by_idempotency_key(session: Session, tenant_id: str, key: str) -> Job | None:
    stmt = select(Job).where(Job.tenant_id == tenant_id, Job.idempotency_key == key)
    return session.scalars(stmt).first()


def _replay(existing: Job, new: NewJob) -> JobView:
    if existing.request_hash != new.request_hash:
        raise IdempotencyConflict(new.idempotency_key)
    return JobView.from_row(existing)


def get_job(session: Session, tenant_id: str, job_id: str) -> JobView:
    """The tenant's job, or `JobNotFound` (also for another tenant's job)."""
    row = session.get(Job, job_id, populate_existing=True)
    if row is None or row.tenant_id != tenant_id:
        raise JobNotFound(job_id)
    return JobView.from_row(row)


def list_jobs(
    session: Session,
    tenant_id: str,
    state: JobState | None,
    limit: int,
    offset: int,
    kind: str | None = None,
) -> tuple[list[JobView], int]:
    """One page of the tenant's jobs (of one state, one kind, if given), newest first,
    and the total count."""
    where = [Job.tenant_id == tenant_id]
    if state is not None:
        where.append(Job.state == state.value)
    if kind is not None:
        where.append(Job.kind == kind)
    return page_of_jobs(session, where, Job.created_at.desc(), limit, offset)


def page_of_jobs(
    session: Session, where: list[Any], order: Any, limit: int, offset: int
) -> tuple[list[JobView], int]:
    """The jobs matching every condition of `where`, one page of them in `order` (ties
    by id), and how many match in all."""
    total = session.scalar(select(func.count()).select_from(Job).where(*where)) or 0
    rows = session.scalars(
        select(Job).where(*where).order_by(order, Job.id).limit(limit).offset(offset)
    )
    return [JobView.from_row(row) for row in rows], total


def mark_enqueued(session: Session, job_id: str, dispatch_id: str) -> None:
    """Note that the message for `dispatch_id` reached the broker."""
    _set_enqueued_at(session, job_id, dispatch_id, utcnow())


def mark_unsent(session: Session, job_id: str, dispatch_id: str) -> None:
    """Note that the message for `dispatch_id` missed the broker; the reconciler sends it."""
    _set_enqueued_at(session, job_id, dispatch_id, None)


def mark_many_unsent(session: Session, dispatches: list[Dispatch]) -> None:
    """`mark_unsent` for many messages at once."""
    for dispatch in dispatches:
        _set_enqueued_at(session, dispatch.job_id, dispatch.dispatch_id, None)


def _set_enqueued_at(session: Session, job_id: str, dispatch_id: str, at: datetime | None) -> None:
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.dispatch_id == dispatch_id, Job.state == JobState.QUEUED)
        .values(enqueued_at=at, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def claim(
    session: Session,
    job_id: str,
    dispatch_id: str,
    worker: str,
    pid: int,
    message_id: str | None = None,
) -> Claim | None:
    """Take the job for a run, if `dispatch_id` is still its message; else None.

    A job already running under the same message was left by a worker that died
    (the broker redelivered it): the new run takes it over with a new token.
    `message_id`: the message that runs it when not its own (a job a finishing run
    continues with, see workers.runner); it becomes the job's dispatch id, so that a
    cancel's revoke reaches the process running it, and a redelivery of the message
    takes it over (`claim_left_under`).
    """
    token = uuid4_hex()
    now = utcnow()
    row = _transition_where(
        session,
        job_id,
        JobState.RUNNING,
        "dispatch_id",
        dispatch_id,
        attempts=COUNT_UP,
        run_token=token,
        worker=worker,
        worker_pid=pid,
        started_at=now,
        heartbeat_at=now,
        dispatch_id=message_id or dispatch_id,
    )
    if row is None:
        return None
    job = JobView.from_row(row)
    return Claim(job=job, token=token, attempt=job.attempts)


def claim_left_under(session: Session, message_id: str, worker: str, pid: int) -> Claim | None:
    """Take over the job a dead run left running under message `message_id` when it was
    not the message's own job (a continued one, see `claim`); None if there is none."""
    stmt = select(Job.id).where(Job.dispatch_id == message_id, Job.state == JobState.RUNNING)
    job_id = session.scalars(stmt.limit(1)).first()
    return None if job_id is None else claim(session, job_id, message_id, worker, pid)


def heartbeat(session: Session, job_id: str, token: str) -> bool:
    """Refresh a run's heartbeat; False if the run no longer holds the job."""
    stmt = (
        update(Job)
        .where(Job.id == job_id, Job.run_token == token, Job.state == JobState.RUNNING)
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]


def record_progress(
    session: Session, job_id: str, token: str, completion: float, stage: str
) -> bool:
    """Store a run's progress; False if the run no longer holds the job (e.g. canceled)."""
    stmt = (
        update(Job)
        .where(Job.id == job_id, Job.run_token == token, Job.state == JobState.RUNNING)
        .values(completion=completion, stage=stage[:80], heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]


def _finish(
    session: Session,
    job_id: str,
    target: JobState,
    condition: ColumnElement[bool],
    **values: Any,
) -> Finished | None:
    return _ended(
        session, _transition(session, job_id, target, condition, finished_at=utcnow(), **values)
    )


def _ended(session: Session, row: Job | Row[Any] | None) -> Finished | None:
    """What follows a job's final transition (`row`, None when it did not happen): its
    credits settled, its events recorded, its batch counted."""
    if row is None:
        return None
    job = JobView.from_row(row)
    if row.credits_reserved is not None:
        credits.settle(session, job.id, succeeded=job.state is JobState.SUCCEEDED)
    event_type = f"job.{job.state.value}"
    delivery_ids = webhooks.record_job_event(
        session,
        job.tenant_id,
        job.id,
        job.callback_url,
        event_type,
        snapshot(job),
        has_endpoints=row._mapping.get(HAS_ENDPOINTS, True) if isinstance(row, Row) else True,
    )
    if job.batch_id and _count_in_batch(session, job.batch_id, job.state):
        batch = session.get(Batch, job.batch_id)
        assert batch is not None
        delivery_ids += webhooks.record_batch_event(session, batch)
    return Finished(job=job, delivery_ids=delivery_ids)


def _count_in_batch(session: Session, batch_id: str, state: JobState) -> bool:
    """Count a finished task in its batch, in the task's own final transaction; True for
    the one task that completes the batch. The UPDATE holds the batch row until commit,
    so concurrent finishers count one after another and exactly one sees the total."""
    session.execute(
        update(Batch)
        .where(Batch.id == batch_id)
        .values(
            finished=Batch.finished + 1,
            succeeded=Batch.succeeded + (1 if state is JobState.SUCCEEDED else 0),
        )
        .execution_options(synchronize_session=False)
    )
    batch = session.get(Batch, batch_id, populate_existing=True)
    if batch is None or batch.finished < batch.total or batch.completed_at is not None:
        return False
    batch.completed_at = utcnow()
    return True


def mark_succeeded(
    session: Session,
    job_id: str,
    token: str,
    result: dict[str, Any],
    outputs: list[dict[str, Any]],
) -> Finished | None:
    """running → succeeded, if this run still holds the job."""
    row = _transition_where(
        session,
        job_id,
        JobState.SUCCEEDED,
        "run_token",
        token,
        finished_at=utcnow(),
        result=result,
        outputs=outputs,
        completion=100.0,
        stage="done",
        error_code=None,
        error_message=None,
    )
    return _ended(session, row)


def mark_failed(
    session: Session,
    job_id: str,
    token: str | None,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
) -> Finished | None:
    """running → failed (held by `token`), or queued → failed when `token` is None.
    `details` (e.g. an infeasible design's reasons) become the job's result."""
    condition = Job.run_token == token if token else Job.state == JobState.QUEUED
    return _finish(
        session,
        job_id,
        JobState.FAILED,
        condition,
        error_code=code,
        error_message=message[:2000],
        result=details,
    )


def cancel(session: Session, tenant_id: str, job_id: str) -> Finished:
    """queued | running → canceled. `IllegalTransition` if the job already ended."""
    get_job(session, tenant_id, job_id)
    finished = _finish(
        session,
        job_id,
        JobState.CANCELED,
        Job.tenant_id == tenant_id,
        error_code="canceled",
        error_message="canceled at the client's request",
    )
    if finished is None:
        raise IllegalTransition(get_job(session, tenant_id, job_id).state, JobState.CANCELED)
    return finished


def requeue_for_retry(
    session: Session, job_id: str, token: str, code: str, message: str
) -> Dispatch | None:
    """running → queued for another attempt under a new message id, still released: the
    retry's message goes out at once with its backoff as countdown, in the slot the run
    held, so a retry never waits behind the backlog nor counts twice against a cap."""
    return _requeue(session, job_id, Job.run_token == token, code, message, released=True)


def _requeue(
    session: Session,
    job_id: str,
    condition: ColumnElement[bool],
    code: str,
    message: str,
    released: bool,
) -> Dispatch | None:
    dispatch_id = new_dispatch_id()
    row = _transition(
        session,
        job_id,
        JobState.QUEUED,
        condition,
        dispatch_id=dispatch_id,
        enqueued_at=None,
        run_token=None,
        error_code=code,
        error_message=message[:2000],
        **({} if released else {"released_at": None}),
    )
    if row is None:
        return None
    return Dispatch(job_id=job_id, dispatch_id=dispatch_id, queue=row.queue, kind=row.kind)


def start_over(session: Session, tenant_id: str, job_id: str, more_attempts: int) -> Job | None:
    """failed | canceled → queued: a new attempt of the same job, back in the backlog
    under a new message id, its error, result, outputs and run cleared, with
    `more_attempts` to use beyond those it made (the runner counts on from them).

    One compare-and-set on the state: of two racing retries one wins, the other gets
    None, as does a job in any other state. Returns the row as it now is."""
    stmt = (
        update(Job)
        .where(
            Job.id == job_id,
            Job.tenant_id == tenant_id,
            Job.state.in_([state.value for state in RETRY_SOURCES]),
        )
        .values(
            outputs_swept_at=None,
            state=JobState.QUEUED.value,
            max_attempts=Job.attempts + more_attempts,
            dispatch_id=new_dispatch_id(),
            released_at=None,
            enqueued_at=None,
            run_token=None,
            worker=None,
            worker_pid=None,
            heartbeat_at=None,
            started_at=None,
            finished_at=None,
            completion=0.0,
            stage=None,
            result=None,
            outputs=[],
            outputs_purged_at=None,
            error_code=None,
            error_message=None,
            updated_at=utcnow(),
        )
        .returning(Job)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return session.scalars(stmt).first()


def recover_stale_runs(session: Session, stale_before: datetime) -> tuple[set[str], list[str]]:
    """Running jobs whose worker stopped beating: back to the backlog (at the head of
    their tenant's lane, being older), or failed when out of attempts.

    Returns the queues that got jobs back, to release, and the ids of deliveries created
    for failed jobs.
    """
    stale = session.scalars(
        select(Job).where(Job.state == JobState.RUNNING, Job.heartbeat_at < stale_before)
    ).all()
    queues: set[str] = set()
    delivery_ids: list[str] = []
    for row in stale:
        still_stale = and_(Job.heartbeat_at < stale_before, Job.run_token == row.run_token)
        if row.attempts >= row.max_attempts:
            done = _finish(
                session,
                row.id,
                JobState.FAILED,
                still_stale,
                error_code="worker_lost",
                error_message=f"the worker running this job was lost {row.attempts} times",
            )
            delivery_ids += done.delivery_ids if done else []
            continue
        requeued = _requeue(
            session, row.id, still_stale, "worker_lost", "the worker was lost", released=False
        )
        if requeued is not None:
            queues.add(requeued.queue)
    return queues, delivery_ids


def find_undelivered(
    session: Session, unsent_before: datetime, lost_before: datetime
) -> tuple[list[Dispatch], set[str]]:
    """Released jobs whose message never reached the broker, or was lost there.

    An unsent message is returned to send again. A job whose message is presumed lost
    goes back to the backlog under a new message id, so that the old message, should it
    surface after all, is dropped by the runner; its queue is returned, to release.
    """
    rows = session.scalars(
        select(Job).where(
            Job.state == JobState.QUEUED,
            Job.released_at.is_not(None),
            or_(
                and_(Job.enqueued_at.is_(None), Job.updated_at < unsent_before),
                Job.enqueued_at < lost_before,
            ),
        )
    ).all()
    unsent = []
    queues: set[str] = set()
    for row in rows:
        if row.enqueued_at is None and row.dispatch_id:
            unsent.append(Dispatch(row.id, row.dispatch_id, row.queue, row.kind))
        elif back_to_backlog(session, [(row.id, row.dispatch_id or "")]):
            queues.add(row.queue)
    return unsent, queues


def released_unstarted(session: Session, sent_before: datetime) -> list[Dispatch]:
    """Released jobs not started, whose message reached the broker before `sent_before`."""
    rows = session.execute(
        select(Job.id, Job.dispatch_id, Job.queue, Job.kind).where(
            Job.state == JobState.QUEUED,
            Job.released_at.is_not(None),
            Job.enqueued_at < sent_before,
        )
    ).all()
    return [Dispatch(r.id, r.dispatch_id or "", r.queue, r.kind) for r in rows]


def back_to_backlog(session: Session, messages: list[tuple[str, str]]) -> int:
    """Put released jobs whose message (job id, dispatch id) is gone back in the backlog,
    under a new message id: should the old message surface after all, the runner drops
    it. A job claimed meanwhile, or already re-sent, is left alone. Returns how many."""
    moved = 0
    for job_id, dispatch_id in messages:
        moved += session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.QUEUED, Job.dispatch_id == dispatch_id)
            .values(
                dispatch_id=new_dispatch_id(),
                released_at=None,
                enqueued_at=None,
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    return moved


def stale_cutoff(seconds: float) -> datetime:
    return utcnow() - timedelta(seconds=seconds)


@dataclass(frozen=True)
class Unswept:
    """A job ended long enough ago that no run of it still stores outputs, and the
    prefixes of the runs it names (those its outputs are under)."""

    job_id: str
    finished_at: datetime
    kept: frozenset[str]


def _unswept_before(ended_before: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        Job.finished_at < ended_before,
        Job.outputs_swept_at.is_(None),
        Job.state.in_([state.value for state in FINAL_STATES]),
    )


def mark_clean_swept(session: Session, ended_before: datetime) -> int:
    """Mark swept, in one statement, the ended jobs that no run can have left anything
    for: never run, or succeeded by their one and only run (each run is one attempt).
    Returns how many."""
    result = session.execute(
        update(Job)
        .where(
            *_unswept_before(ended_before),
            or_(Job.attempts == 0, and_(Job.attempts == 1, Job.state == JobState.SUCCEEDED.value)),
        )
        .values(outputs_swept_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def unswept(session: Session, ended_before: datetime, limit: int = 500) -> list[Unswept]:
    """Ended jobs, before `ended_before`, whose runs' prefixes were not swept yet."""
    rows = session.execute(
        select(Job.id, Job.finished_at, Job.outputs)
        .where(*_unswept_before(ended_before))
        .order_by(Job.finished_at)
        .limit(limit)
    ).all()
    return [
        Unswept(
            row.id,
            row.finished_at,
            frozenset(o["blob_key"].rpartition("/")[0] for o in row.outputs or []),
        )
        for row in rows
    ]


def still_ended(session: Session, job: Unswept) -> bool:
    """Whether the job is still as `unswept` found it: ended then, not retried since."""
    found = session.execute(
        select(Job.state, Job.finished_at).where(Job.id == job.job_id)
    ).one_or_none()
    return (
        found is not None
        and JobState(found.state) in FINAL_STATES
        and found.finished_at == job.finished_at
    )


def mark_swept(session: Session, swept: list[Unswept]) -> None:
    """Record the jobs swept, unless retried meanwhile (their new run may store)."""
    for job in swept:
        session.execute(
            update(Job)
            .where(Job.id == job.job_id, Job.finished_at == job.finished_at)
            .values(outputs_swept_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def take_expired_outputs(session: Session, ended_before: datetime, limit: int = 1000) -> list[str]:
    """Mark the outputs of jobs that ended before `ended_before` purged; returns their blob keys."""
    rows = session.execute(
        select(Job.id, Job.outputs)
        .where(Job.finished_at < ended_before, Job.outputs_purged_at.is_(None))
        .limit(limit)
    ).all()
    ids = [row.id for row in rows]
    if ids:
        session.execute(
            update(Job)
            .where(Job.id.in_(ids))
            .values(outputs=[], outputs_purged_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return [output["blob_key"] for row in rows for output in row.outputs or []]
