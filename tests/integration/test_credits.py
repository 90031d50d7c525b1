"""The credit ledger on real SQL (SQLite, or PostgreSQL in CI): reserve at submit,
charge or refund in the job's final transaction, exactly once, never overdrawn."""

from __future__ import annotations

import threading
import uuid

import pytest

from storage import credits, jobs, tenants
from storage.credits import InsufficientCredits
from storage.db import session_scope
from storage.jobs import NewJob
from storage.migrate import upgrade


@pytest.fixture(scope="module")
def sql(tmp_path_factory: pytest.TempPathFactory, database_url: str | None) -> str:
    url = database_url or f"sqlite:///{tmp_path_factory.mktemp('sql') / 'credits.sqlite3'}"
    upgrade(url)
    return url


@pytest.fixture
def tenant_id(sql: str) -> str:
    with session_scope(sql) as session:
        tenant = tenants.create_key(session, f"cr-{uuid.uuid4().hex[:8]}").tenant_id
        credits.recharge(session, tenant, 100, "opening balance")
    return tenant


def submit(sql: str, tenant_id: str, cost: int) -> jobs.JobView:
    """A job and its reservation, in one transaction, as a dialect submits it."""
    with session_scope(sql) as session:
        job, _ = jobs.create_job(
            session,
            NewJob(tenant_id=tenant_id, kind="noop", queue="cad", params={}, max_attempts=3),
        )
        credits.reserve(session, tenant_id, job.id, cost)
    return job


def run_to(sql: str, job: jobs.JobView, succeed: bool) -> None:
    with session_scope(sql) as session:
        held = jobs.claim(session, job.id, job.dispatch_id or "", "w", 1)
        assert held is not None
        if succeed:
            jobs.mark_succeeded(session, job.id, held.token, {}, [])
        else:
            jobs.mark_failed(session, job.id, held.token, "permanent_error", "no")


def balance(sql: str, tenant_id: str) -> int:
    with session_scope(sql) as session:
        return credits.balance(session, tenant_id)


def test_a_success_keeps_the_reserved_credits_as_charged(sql: str, tenant_id: str) -> None:
    job = submit(sql, tenant_id, 30)
    assert balance(sql, tenant_id) == 70

    run_to(sql, job, succeed=True)

    with session_scope(sql) as session:
        assert credits.balance(session, tenant_id) == 70
        assert credits.credits_used(session, job.id) == 30
        kinds = [m.kind for m in credits.movements(session, tenant_id, 10, 0)[0]]
    assert kinds == ["charge", "reserve", "recharge"]


def test_a_failure_refunds_the_reservation(sql: str, tenant_id: str) -> None:
    job = submit(sql, tenant_id, 30)

    run_to(sql, job, succeed=False)

    with session_scope(sql) as session:
        assert credits.balance(session, tenant_id) == 100
        assert credits.credits_used(session, job.id) == 0
        [refund, *_] = credits.movements(session, tenant_id, 10, 0)[0]
    assert (refund.kind, refund.amount, refund.balance_after) == ("refund", 30, 100)


def test_a_cancel_refunds_the_reservation(sql: str, tenant_id: str) -> None:
    job = submit(sql, tenant_id, 40)

    with session_scope(sql) as session:
        jobs.cancel(session, tenant_id, job.id)

    assert balance(sql, tenant_id) == 100


def test_settling_twice_moves_nothing_more(sql: str, tenant_id: str) -> None:
    job = submit(sql, tenant_id, 25)
    run_to(sql, job, succeed=False)

    with session_scope(sql) as session:
        assert credits.settle(session, job.id, succeeded=False) == 0
        assert credits.settle(session, job.id, succeeded=True) == 0

    assert balance(sql, tenant_id) == 100


def test_a_short_balance_reserves_nothing_and_stores_no_job(sql: str, tenant_id: str) -> None:
    with pytest.raises(InsufficientCredits), session_scope(sql) as session:
        job, _ = jobs.create_job(
            session,
            NewJob(tenant_id=tenant_id, kind="noop", queue="cad", params={}, max_attempts=3),
        )
        credits.reserve(session, tenant_id, job.id, 101)

    with session_scope(sql) as session:
        assert credits.balance(session, tenant_id) == 100
        assert jobs.list_jobs(session, tenant_id, None, 10, 0)[1] == 0


def test_concurrent_reservations_never_overdraw(sql: str, tenant_id: str) -> None:
    barrier = threading.Barrier(8)
    outcomes: list[bool] = []

    def spend() -> None:
        barrier.wait()
        try:
            submit(sql, tenant_id, 30)
            outcomes.append(True)
        except InsufficientCredits:
            outcomes.append(False)

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes.count(True) == 3
    assert balance(sql, tenant_id) == 10
