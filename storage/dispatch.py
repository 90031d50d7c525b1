"""The dispatcher: which of a queue's waiting jobs go to Celery now.

A submitted job is durable in SQL and waits in the backlog (queued, `released_at` NULL)
until the dispatcher releases it: marks it released and hands its message to the
caller to send. Each queue holds a bounded window in flight (released or running),
about the workers' capacity on it, so the broker never holds more than the workers can
start soon. Within the window the dispatcher chooses by priority first (higher first);
among jobs of equal priority, fairly across tenants: the tenant with the smallest share
of the window for its weight goes next, ties going to the one served longest ago (round
robin), so one tenant's 10,000-task batch cannot block another tenant's 20 designs.
A tenant's cap on a queue bounds its jobs in flight there. Weights and caps are the
operator's (`jobfarm dispatch`), read by each process at most every few seconds.

A release runs in the caller's transaction (a submission's, a finishing job's) under a
per-queue lock: a transaction advisory lock on PostgreSQL, the database write lock that
every writing session takes at BEGIN on SQLite (see storage.db). While it holds the
lock it never waits for a row (PostgreSQL's SKIP LOCKED), so it cannot deadlock with a
transaction that locked a job row first and waits for the lock. It is the last thing
a transaction does, but for the claim of a job it released by the run that goes on
with it (workers.runner), a row the transaction already holds.
"""

from __future__ import annotations

import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import BigInteger, and_, bindparam, func, or_, select, text, update
from sqlalchemy.orm import Session

from storage.db import is_postgresql
from storage.jobs import Dispatch, JobView
from storage.models import BACKLOG_SQL, IN_FLIGHT_SQL, JOBS, DispatchPolicy, Job, utcnow
from storage.states import JobState

ALL_QUEUES = "*"
DEFAULT_PRIORITY = 5
MIN_PRIORITY, MAX_PRIORITY = 0, 9
# Advisory lock keys are one 64-bit space per database: ours carry a tag in the high bits.
LOCK_TAG = 0x6A66 << 32

POLICIES_FRESH_FOR_S = 5.0

_backlog = text(BACKLOG_SQL)
_in_flight = text(IN_FLIGHT_SQL)


@dataclass(frozen=True)
class Waiting:
    """A backlog job at the head of its tenant's lane."""

    id: str
    dispatch_id: str
    kind: str
    priority: int
    created_at: datetime


@dataclass
class Lane:
    """One tenant's share of one queue: its jobs in flight, when it was last served, its
    weight and cap, and the head of its backlog in release order."""

    tenant_id: str
    in_flight: int = 0
    last_release: datetime | None = None
    weight: int = 1
    cap: int | None = None
    waiting: deque[Waiting] = field(default_factory=deque)

    def open(self) -> bool:
        return bool(self.waiting) and (self.cap is None or self.in_flight < self.cap)

    def rank(self) -> tuple[int, float, datetime, str]:
        """Smaller goes first: higher priority, smaller share, served longer ago."""
        head = self.waiting[0]
        served = self.last_release or datetime.min
        return (-head.priority, self.in_flight / self.weight, served, self.tenant_id)


@dataclass(frozen=True)
class Policy:
    weight: int = 1
    max_in_flight: int | None = None


_policy_cache: tuple[float, dict[tuple[str, str], Policy]] | None = None


def choose(lanes: Iterable[Lane], free: int, now: datetime) -> list[Waiting]:
    """Up to `free` jobs from the lanes' heads, in release order (see the module's doc).
    Updates each lane's count and last release as it takes from it."""
    open_lanes = [lane for lane in lanes if lane.open()]
    chosen: list[Waiting] = []
    while len(chosen) < free and open_lanes:
        lane = min(open_lanes, key=Lane.rank)
        chosen.append(lane.waiting.popleft())
        lane.in_flight += 1
        lane.last_release = now
        if not lane.open():
            open_lanes.remove(lane)
    return chosen


def release(session: Session, queue: str, window: int, freed: bool = False) -> list[Dispatch]:
    """Release as many of `queue`'s waiting jobs as its `window` has room for; returns
    their messages, to send once the caller's transaction commits. `freed`: the caller
    has just freed a slot (its job ended), so the queue is not known to be full."""
    if window <= 0:
        return []
    if not freed and _in_flight_total(session, queue) >= window:
        return []  # the common case of a submission under load: full, without the lock
    _lock(session, queue)
    read = _lanes_and_heads_postgresql if is_postgresql(session) else _lanes_and_heads_sqlite
    lanes, backlogged, heads = read(session, queue, window)
    free = window - sum(lane.in_flight for lane in lanes.values())
    if free <= 0 or not backlogged:
        return []
    for tenant_id in backlogged:
        lanes.setdefault(tenant_id, Lane(tenant_id))
    _apply_policies(session, queue, lanes)
    for tenant_id in backlogged:
        lane = lanes[tenant_id]
        room = free if lane.cap is None else min(free, lane.cap - lane.in_flight)
        if room > 0:
            lane.waiting.extend(heads(tenant_id, room))
    now = utcnow()
    chosen = choose(lanes.values(), free, now)
    taken = _take(session, [job.id for job in chosen], now)
    return [Dispatch(job.id, job.dispatch_id, queue, job.kind) for job in chosen if job.id in taken]


# The queries of every release, Core and built once: SQLAlchemy neither builds nor keys
# them again.
_IN_FLIGHT_TOTAL = (
    select(func.count()).select_from(JOBS).where(JOBS.c.queue == bindparam("queue"), _in_flight)
)
_LANES_IN_FLIGHT = (
    select(JOBS.c.tenant_id, func.count(), func.max(JOBS.c.released_at))
    .where(JOBS.c.queue == bindparam("queue"), _in_flight)
    .group_by(JOBS.c.tenant_id)
)
_HEADS = (
    select(JOBS.c.id, JOBS.c.dispatch_id, JOBS.c.kind, JOBS.c.priority, JOBS.c.created_at)
    .where(JOBS.c.queue == bindparam("queue"), JOBS.c.tenant_id == bindparam("tenant_id"), _backlog)
    .order_by(JOBS.c.priority.desc(), JOBS.c.created_at, JOBS.c.id)
    .limit(bindparam("limit"))
)
_ADVISORY_LOCK = select(func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger)))
_RELEASED: dict[str, Any] = {
    "released_at": bindparam("v_released_at"),
    "enqueued_at": bindparam("v_enqueued_at"),
    "updated_at": bindparam("v_updated_at"),
}
# Taking the chosen jobs (see `_take`). On PostgreSQL the rows are found and locked by
# primary key alone, and the backlog test is made on the locked rows: a lock subquery
# that may use the backlog's index is planned, on a young table, as a nested loop
# rescanning the whole backlog for every backlog row (seconds at 2,000 waiting).
_HELD = (
    select(JOBS.c.id, JOBS.c.state, JOBS.c.released_at)
    .where(JOBS.c.id.in_(bindparam("ids", expanding=True)))
    .with_for_update(skip_locked=True)
    .cte("held")
)
_TAKE_LOCKED = (
    update(JOBS)
    .where(
        JOBS.c.id == _HELD.c.id,
        _HELD.c.state == JobState.QUEUED.value,
        _HELD.c.released_at.is_(None),
    )
    .values(**_RELEASED)
    .returning(JOBS.c.id)
)
_TAKE = (
    update(JOBS)
    .where(JOBS.c.id.in_(bindparam("ids", expanding=True)), _backlog)
    .values(**_RELEASED)
    .returning(JOBS.c.id)
)
# The tenants with jobs waiting on a queue (see `_lanes_and_heads_sqlite`).
_LANES_CTE = (
    "WITH RECURSIVE lanes(tenant_id) AS ("
    f" SELECT MIN(tenant_id) FROM jobs WHERE queue = :queue AND {BACKLOG_SQL}"
    " UNION ALL"
    f" SELECT (SELECT MIN(tenant_id) FROM jobs WHERE queue = :queue AND {BACKLOG_SQL}"
    " AND tenant_id > lanes.tenant_id)"
    " FROM lanes WHERE lanes.tenant_id IS NOT NULL"
    ")"
)
_BACKLOG_TENANTS = text(f"{_LANES_CTE} SELECT tenant_id FROM lanes WHERE tenant_id IS NOT NULL")
# On PostgreSQL, in one statement: each tenant's jobs in flight on the queue (rows of
# part 0), then, while the window has room, each backlogged tenant's first waiting
# jobs in release order, as many as the room (part 1).
_LANES_AND_HEADS = text(
    f"{_LANES_CTE},"
    " flight AS (SELECT tenant_id, COUNT(*) AS in_flight, MAX(released_at) AS last_release"
    f" FROM jobs WHERE queue = :queue AND {IN_FLIGHT_SQL} GROUP BY tenant_id),"
    " room AS (SELECT GREATEST(:window - COALESCE(SUM(in_flight), 0), 0) AS free FROM flight)"
    " SELECT 0 AS part, tenant_id, in_flight, last_release, NULL AS id, NULL AS dispatch_id,"
    " NULL AS kind, NULL::integer AS priority, NULL::timestamp AS created_at FROM flight"
    " UNION ALL"
    " SELECT 1, lanes.tenant_id, NULL, NULL, h.id, h.dispatch_id, h.kind, h.priority, h.created_at"
    " FROM lanes CROSS JOIN LATERAL ("
    " SELECT id, dispatch_id, kind, priority, created_at FROM jobs"
    f" WHERE queue = :queue AND tenant_id = lanes.tenant_id AND {BACKLOG_SQL}"
    " ORDER BY priority DESC, created_at, id LIMIT (SELECT free FROM room)) h"
    " WHERE lanes.tenant_id IS NOT NULL AND (SELECT free FROM room) > 0"
    " ORDER BY part, tenant_id, priority DESC, created_at, id"
)


def _in_flight_total(session: Session, queue: str) -> int:
    return int(session.scalar(_IN_FLIGHT_TOTAL, {"queue": queue}) or 0)


def _lock(session: Session, queue: str) -> None:
    if is_postgresql(session):
        session.execute(_ADVISORY_LOCK, {"key": LOCK_TAG | zlib.crc32(queue.encode())})


def _lanes_in_flight(session: Session, queue: str) -> dict[str, Lane]:
    rows = session.execute(_LANES_IN_FLIGHT, {"queue": queue}).all()
    return {tenant: Lane(tenant, int(count), last) for tenant, count, last in rows}


# A tenant's first `room` waiting jobs on the queue, in release order.
HeadReader = Callable[[str, int], list[Waiting]]
LanesAndHeads = tuple[dict[str, Lane], list[str], HeadReader]


def _lanes_and_heads_sqlite(session: Session, queue: str, window: int) -> LanesAndHeads:
    """The lanes with jobs in flight on `queue`; unless they fill the window, the
    tenants with jobs waiting on it (found by skipping through the backlog's index one
    tenant at a time, a loose index scan: the cost follows the number of tenants, not of
    waiting jobs); and a reader of a tenant's heads, one statement each (a statement
    costs no round trip on SQLite)."""
    lanes = _lanes_in_flight(session, queue)
    if sum(lane.in_flight for lane in lanes.values()) >= window:
        return lanes, [], _no_heads
    backlogged = [row[0] for row in session.execute(_BACKLOG_TENANTS, {"queue": queue})]
    return lanes, backlogged, partial(_heads, session, queue)


def _lanes_and_heads_postgresql(session: Session, queue: str, window: int) -> LanesAndHeads:
    """As `_lanes_and_heads_sqlite` gives them, read in one statement (one round trip
    while the queue's lock is held), each backlogged tenant's heads as many as the room
    the window has."""
    lanes: dict[str, Lane] = {}
    heads: dict[str, list[Waiting]] = {}
    for row in session.execute(_LANES_AND_HEADS, {"queue": queue, "window": window}):
        if row.part == 0:
            lanes[row.tenant_id] = Lane(row.tenant_id, int(row.in_flight), row.last_release)
        else:
            waiting = Waiting(row.id, row.dispatch_id or "", row.kind, row.priority, row.created_at)
            heads.setdefault(row.tenant_id, []).append(waiting)
    return lanes, list(heads), lambda tenant_id, room: heads[tenant_id][:room]


def _no_heads(_tenant_id: str, _room: int) -> list[Waiting]:
    return []


def _apply_policies(session: Session, queue: str, lanes: dict[str, Lane]) -> None:
    policies = _policies(session)
    for tenant_id, lane in lanes.items():
        policy = policies.get((tenant_id, queue)) or policies.get((tenant_id, ALL_QUEUES))
        if policy is not None:
            lane.weight, lane.cap = policy.weight, policy.max_in_flight


def _policies(session: Session) -> dict[tuple[str, str], Policy]:
    """Every policy by (tenant, queue), read at most every `POLICIES_FRESH_FOR_S` per
    process: an operator's change holds everywhere within that time."""
    global _policy_cache
    now = time.monotonic()
    if _policy_cache is None or now - _policy_cache[0] >= POLICIES_FRESH_FOR_S:
        found = {(t, q): policy for t, q, policy in list_policies(session)}
        _policy_cache = (now, found)
    return _policy_cache[1]


def _heads(session: Session, queue: str, tenant_id: str, limit: int) -> list[Waiting]:
    rows = session.execute(_HEADS, {"queue": queue, "tenant_id": tenant_id, "limit": limit}).all()
    return [Waiting(r.id, r.dispatch_id or "", r.kind, r.priority, r.created_at) for r in rows]


def _take(session: Session, ids: list[str], now: datetime) -> set[str]:
    """Mark the chosen jobs released (and, optimistically, sent: see `mark_unsent`);
    returns those taken. On PostgreSQL a row another transaction holds (a cancel in
    progress) is skipped, never waited for."""
    if not ids:
        return set()
    stmt = _TAKE_LOCKED if is_postgresql(session) else _TAKE
    params = {"ids": ids, "v_released_at": now, "v_enqueued_at": now, "v_updated_at": now}
    taken = session.execute(stmt, params)
    return {row[0] for row in taken}


def position(session: Session, job: JobView) -> int | None:
    """How many of the tenant's own waiting jobs on the job's queue go before it (0: it
    is the tenant's next); None once it is released."""
    if job.state is not JobState.QUEUED or job.released_at is not None:
        return None
    ahead = or_(
        Job.priority > job.priority,
        and_(
            Job.priority == job.priority,
            or_(
                Job.created_at < job.created_at,
                and_(Job.created_at == job.created_at, Job.id < job.id),
            ),
        ),
    )
    stmt = (
        select(func.count())
        .select_from(Job)
        .where(Job.queue == job.queue, Job.tenant_id == job.tenant_id, _backlog, ahead)
    )
    return int(session.scalar(stmt) or 0)


def set_policy(
    session: Session,
    tenant_id: str,
    queue: str = ALL_QUEUES,
    weight: int | None = None,
    max_in_flight: int | None = None,
    clear_cap: bool = False,
) -> Policy:
    """Set a tenant's weight and/or cap on a queue (`*`: all); returns the policy now."""
    row = session.get(DispatchPolicy, (tenant_id, queue))
    if row is None:
        row = DispatchPolicy(tenant_id=tenant_id, queue=queue, weight=1)
        session.add(row)
    if weight is not None:
        row.weight = weight
    if max_in_flight is not None:
        row.max_in_flight = max_in_flight
    if clear_cap:
        row.max_in_flight = None
    row.updated_at = utcnow()
    session.flush()
    return Policy(row.weight, row.max_in_flight)


def list_policies(session: Session) -> list[tuple[str, str, Policy]]:
    """Every policy set: (tenant id, queue, policy), by tenant then queue."""
    rows = session.scalars(
        select(DispatchPolicy).order_by(DispatchPolicy.tenant_id, DispatchPolicy.queue)
    )
    return [(r.tenant_id, r.queue, Policy(r.weight, r.max_in_flight)) for r in rows]
