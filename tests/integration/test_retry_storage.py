"""Retries on real SQL (SQLite, or PostgreSQL under JOBFARM_TEST_POSTGRES_URL): the
compare-and-set that lets one of two racing retries win, credits never moved twice,
and a batch that counts a retried task again."""

from __future__ import annotations

import threading
import uuid

import pytest

from storage import batches, credits, jobs, retries, tenants
from storage.db import session_scope
from storage.jobs import JobView, NewJob
from storage.migrate import upgrade
from storage.models import Batch, Job
from storage.retries import CreditsSettled, RetryFilter
from storage.states import IllegalTransition, JobState


@pytest.fixture(scope="module")
def sql(tmp_path_factory: pytest.TempPathFactory, database_url: str | None) -> str:
    url = database_url or f"sqlite:///{tmp_path_factory.mktemp('sql') / 'retries.sqlite3'}"
    upgrade(url)
    return url


@pytest.fixture
def tenant_id(sql: str) -> str:
    with session_scope(sql) as session:
        tenant = tenants.create_key(session, f"rt-{uuid.uuid4().hex[:8]}").tenant_id
        credits.recharge(session, tenant, 100, "opening balance")
    return tenant


def new_job(tenant_id: str) -> NewJob:
    return NewJob(tenant_id=tenant_id, kind="noop", queue="cad", params={}, max_attempts=2)


def submit(sql: str, tenant_id: str, cost: int = 0) -> JobView:
    with session_scope(sql) as session:
        job, _ = jobs.create_job(session, new_job(tenant_id))
        if cost:
            credits.reserve(session, tenant_id, job.id, cost)
    return job


def run_to(sql: str, job_id: str, succeed: bool) -> JobView:
    """Claim the job under its current message and end it."""
    with session_scope(sql) as session:
        row = session.get(Job, job_id)
        assert row is not None
        held = jobs.claim(session, job_id, row.dispatch_id or "", "w", 1)
        assert held is not None
        if succeed:
            done = jobs.mark_succeeded(session, job_id, held.token, {}, [])
        else:
            done = jobs.mark_failed(session, job_id, held.token, "permanent_error", "no")
        assert done is not None
        return done.job


def retry(sql: str, tenant_id: str, job_id: str) -> retries.Retried:
    with session_scope(sql) as session:
        return retries.retry(session, tenant_id, job_id, more_attempts=2)


def test_a_failed_job_starts_over_as_the_same_job_with_its_attempts_counted_on(
    sql: str, tenant_id: str
) -> None:
    job = submit(sql, tenant_id)
    failed = run_to(sql, job.id, succeed=False)

    again = retry(sql, tenant_id, job.id).job

    assert (again.id, again.state, again.released_at) == (job.id, JobState.QUEUED, None)
    assert (again.error_code, again.error_message, again.finished_at) == (None, None, None)
    assert again.dispatch_id != failed.dispatch_id
    assert (again.attempts, again.max_attempts) == (1, 3)
    assert run_to(sql, job.id, succeed=True).attempts == 2


def test_of_two_racing_retries_exactly_one_starts_the_job_over(sql: str, tenant_id: str) -> None:
    job = submit(sql, tenant_id)
    run_to(sql, job.id, succeed=False)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def race() -> None:
        start.wait()
        try:
            retry(sql, tenant_id, job.id)
            outcomes.append("retried")
        except IllegalTransition as exc:
            outcomes.append(f"refused: {exc.current}")

    threads = [threading.Thread(target=race) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refused: queued", "retried"]
    with session_scope(sql) as session:
        assert jobs.get_job(session, tenant_id, job.id).max_attempts == 3


def test_a_queued_running_or_succeeded_job_is_not_retried(sql: str, tenant_id: str) -> None:
    job = submit(sql, tenant_id)
    refused = []
    for step in ("queued", "running", "succeeded"):
        if step == "running":
            with session_scope(sql) as session:
                assert jobs.claim(session, job.id, job.dispatch_id or "", "w", 1) is not None
        if step == "succeeded":
            with session_scope(sql) as session:
                held = session.get(Job, job.id)
                assert held is not None and held.run_token is not None
                assert jobs.mark_succeeded(session, job.id, held.run_token, {}, []) is not None
        with pytest.raises(IllegalTransition) as caught:
            retry(sql, tenant_id, job.id)
        refused.append(caught.value.current.value)

    assert refused == ["queued", "running", "succeeded"]


def test_another_tenants_job_is_not_found(sql: str, tenant_id: str) -> None:
    job = submit(sql, tenant_id)
    run_to(sql, job.id, succeed=False)
    with pytest.raises(jobs.JobNotFound), session_scope(sql) as session:
        other = tenants.create_key(session, f"rt-{uuid.uuid4().hex[:8]}").tenant_id
        retries.retry(session, other, job.id, 2)


def test_a_job_that_reserved_credits_is_refused_and_its_refund_stands(
    sql: str, tenant_id: str
) -> None:
    job = submit(sql, tenant_id, cost=30)
    run_to(sql, job.id, succeed=False)
    with session_scope(sql) as session:
        assert credits.balance(session, tenant_id) == 100

    with pytest.raises(CreditsSettled):
        retry(sql, tenant_id, job.id)
    with session_scope(sql) as session:
        done, more = retries.retry_matching(session, tenant_id, RetryFilter(), 2)
        kinds = [m.kind for m in credits.movements(session, tenant_id, 10, 0)[0]]
        balance = credits.balance(session, tenant_id)
        state = jobs.get_job(session, tenant_id, job.id).state

    assert (done, more, state) == ([], False, JobState.FAILED)
    assert balance == 100
    assert sorted(kinds) == ["recharge", "refund", "reserve"]


def test_a_retried_task_reopens_its_batch_which_completes_again_once(
    sql: str, tenant_id: str
) -> None:
    batch_id = f"bat_{uuid.uuid4().hex[:12]}"
    with session_scope(sql) as session:
        batches.create_batch(session, batch_id, tenant_id, "native", None, [new_job(tenant_id)] * 2)
        ids = [j.id for j in batches.tasks_page(session, batch_id, 10, 0)]
    run_to(sql, ids[0], succeed=True)
    run_to(sql, ids[1], succeed=False)
    with session_scope(sql) as session:
        batch = session.get(Batch, batch_id)
        assert batch is not None
        assert (batch.finished, batch.succeeded, batch.completed_at is not None) == (2, 1, True)

    retry(sql, tenant_id, ids[1])
    with session_scope(sql) as session:
        batch = session.get(Batch, batch_id)
        assert batch is not None
        assert (batch.finished, batch.succeeded, batch.completed_at) == (1, 1, None)
    run_to(sql, ids[1], succeed=True)

    with session_scope(sql) as session:
        batch = session.get(Batch, batch_id)
        assert batch is not None
        assert (batch.finished, batch.succeeded, batch.completed_at is not None) == (2, 2, True)


def test_a_bulk_retry_takes_the_oldest_matching_up_to_its_limit_and_says_more_match(
    sql: str, tenant_id: str
) -> None:
    failed = [submit(sql, tenant_id) for _ in range(3)]
    for job in failed:
        run_to(sql, job.id, succeed=False)
    run_to(sql, submit(sql, tenant_id).id, succeed=True)

    with session_scope(sql) as session:
        first, more = retries.retry_matching(session, tenant_id, RetryFilter(limit=2), 2)
    with session_scope(sql) as session:
        rest, more_after = retries.retry_matching(session, tenant_id, RetryFilter(limit=2), 2)
    with session_scope(sql) as session:
        none_canceled, _ = retries.retry_matching(
            session, tenant_id, RetryFilter(state=JobState.CANCELED), 2
        )

    assert [r.job.id for r in first] == [j.id for j in failed[:2]] and more
    assert [r.job.id for r in rest] == [failed[2].id] and not more_after
    assert none_canceled == []


def test_a_bulk_retry_by_batch_takes_only_that_batchs_ended_tasks(sql: str, tenant_id: str) -> None:
    batch_id = f"bat_{uuid.uuid4().hex[:12]}"
    with session_scope(sql) as session:
        batches.create_batch(session, batch_id, tenant_id, "native", None, [new_job(tenant_id)])
        [task] = batches.tasks_page(session, batch_id, 10, 0)
    outside = submit(sql, tenant_id)
    for job_id in (task.id, outside.id):
        run_to(sql, job_id, succeed=False)

    with session_scope(sql) as session:
        done, _ = retries.retry_matching(session, tenant_id, RetryFilter(batch_id=batch_id), 2)
        left = jobs.get_job(session, tenant_id, outside.id).state

    assert [r.job.id for r in done] == [task.id]
    assert left is JobState.FAILED
