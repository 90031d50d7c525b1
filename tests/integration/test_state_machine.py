"""The job state machine against a real database: compare-and-set under contention."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from storage import jobs, tenants, webhook_endpoints
from storage.db import session_scope
from storage.jobs import IdempotencyConflict, NewJob
from storage.migrate import upgrade
from storage.models import WebhookDelivery, WebhookEndpoint, utcnow
from storage.states import IllegalTransition, JobState


@pytest.fixture(scope="module")
def sql(tmp_path_factory: pytest.TempPathFactory, database_url: str | None) -> str:
    url = database_url or f"sqlite:///{tmp_path_factory.mktemp('sql') / 'sm.sqlite3'}"
    upgrade(url)
    return url


@pytest.fixture
def tenant_id(sql: str) -> str:
    with session_scope(sql) as session:
        return tenants.create_key(session, f"sm-{uuid.uuid4().hex[:8]}").tenant_id


@pytest.fixture
def make_job(sql: str, tenant_id: str) -> Iterator[object]:
    def make(**overrides) -> jobs.JobView:  # type: ignore[no-untyped-def]
        fields = {
            "tenant_id": tenant_id,
            "kind": "noop",
            "queue": "cad",
            "params": {},
            "max_attempts": 3,
            **overrides,
        }
        with session_scope(sql) as session:
            return jobs.create_job(session, NewJob(**fields))[0]

    yield make


def claim(sql: str, job: jobs.JobView, dispatch_id: str | None = None) -> jobs.Claim | None:
    with session_scope(sql) as session:
        return jobs.claim(session, job.id, dispatch_id or job.dispatch_id or "", "w", 1)


def test_only_one_of_many_concurrent_claims_wins_each_round(sql: str, make_job) -> None:
    job = make_job()
    results: list[object] = []
    barrier = threading.Barrier(6)

    def contend() -> None:
        barrier.wait()
        results.append(claim(sql, job))

    threads = [threading.Thread(target=contend) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    holders = [r for r in results if r is not None]
    tokens = {h.token for h in holders}  # type: ignore[attr-defined]
    with session_scope(sql) as session:
        final_token = session.get(jobs.Job, job.id).run_token  # type: ignore[union-attr]

    # Every claim with the job's message takes it over, but only the last token holds it.
    assert len(tokens) == len(holders) >= 1
    assert final_token in tokens
    with session_scope(sql) as session:
        losers = [t for t in tokens if t != final_token]
        assert all(jobs.mark_succeeded(session, job.id, t, {}, []) is None for t in losers)
        assert jobs.mark_succeeded(session, job.id, final_token, {}, []) is not None


def test_a_stale_message_cannot_claim(sql: str, make_job) -> None:
    job = make_job()
    assert claim(sql, job, dispatch_id="some-old-message") is None


def test_a_finished_job_cannot_be_claimed_again(sql: str, make_job) -> None:
    job = make_job()
    held = claim(sql, job)
    assert held is not None
    with session_scope(sql) as session:
        jobs.mark_succeeded(session, job.id, held.token, {"ok": True}, [])

    assert claim(sql, job) is None


def test_attempts_count_each_claim(sql: str, make_job) -> None:
    job = make_job()
    first, second = claim(sql, job), claim(sql, job)
    assert first is not None and second is not None
    assert (first.attempt, second.attempt) == (1, 2)


def test_cancel_of_a_finished_job_is_illegal(sql: str, make_job, tenant_id: str) -> None:
    job = make_job()
    held = claim(sql, job)
    assert held is not None
    with session_scope(sql) as session:
        jobs.mark_failed(session, job.id, held.token, "x", "y")
    with pytest.raises(IllegalTransition), session_scope(sql) as session:
        jobs.cancel(session, tenant_id, job.id)


def test_a_canceled_run_cannot_report_progress_or_succeed(
    sql: str, make_job, tenant_id: str
) -> None:
    job = make_job()
    held = claim(sql, job)
    assert held is not None
    with session_scope(sql) as session:
        jobs.cancel(session, tenant_id, job.id)
    with session_scope(sql) as session:
        assert not jobs.record_progress(session, job.id, held.token, 50, "working")
        assert jobs.mark_succeeded(session, job.id, held.token, {}, []) is None
        assert jobs.get_job(session, tenant_id, job.id).state == JobState.CANCELED


def test_stale_runs_are_requeued_then_failed_when_out_of_attempts(
    sql: str, make_job, tenant_id: str
) -> None:
    job = make_job(max_attempts=2)
    future = utcnow() + timedelta(seconds=60)
    for expected in ("queued", "failed"):
        assert claim(sql, job) is not None
        with session_scope(sql) as session:
            jobs.recover_stale_runs(session, future)
        with session_scope(sql) as session:
            job = jobs.get_job(session, tenant_id, job.id)
        assert job.state == expected


def test_same_idempotency_key_with_another_request_conflicts(make_job) -> None:
    first = make_job(idempotency_key="k1", request_hash="a")
    again = make_job(idempotency_key="k1", request_hash="a")
    assert again.id == first.id
    with pytest.raises(IdempotencyConflict):
        make_job(idempotency_key="k1", request_hash="b")


def succeed(sql: str, job: jobs.JobView) -> list[str]:
    held = claim(sql, job)
    assert held is not None
    with session_scope(sql) as session:
        done = jobs.mark_succeeded(session, job.id, held.token, {}, [])
    assert done is not None
    return done.delivery_ids


def test_a_success_queues_a_delivery_only_to_its_own_tenants_enabled_endpoints(
    sql: str, make_job, tenant_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(sql) as session:
        other = tenants.create_key(session, f"sm-{uuid.uuid4().hex[:8]}").tenant_id
        webhook_endpoints.create(session, other, "https://other.example/hook", [], 10)
        own, _ = webhook_endpoints.create(session, tenant_id, "https://own.example/hook", [], 10)
        row = session.get(WebhookEndpoint, own.id)
        assert row is not None
        webhook_endpoints.disable(session, row, "test", "test")
    looked: list[str] = []
    matching = webhook_endpoints.matching

    def spy(session, tenant, event_type):  # type: ignore[no-untyped-def]
        looked.append(tenant)
        return matching(session, tenant, event_type)

    monkeypatch.setattr(webhook_endpoints, "matching", spy)
    assert succeed(sql, make_job()) == []  # another tenant's, and a disabled one
    assert looked == []  # the job's end did not even look
    with session_scope(sql) as session:
        webhook_endpoints.update_endpoint(session, tenant_id, own.id, "test", enabled=True)
    delivery_ids = succeed(sql, make_job())
    with session_scope(sql) as session:
        urls = [session.get(WebhookDelivery, d).url for d in delivery_ids]  # type: ignore[union-attr]
    assert urls == ["https://own.example/hook"]
    assert looked == [tenant_id]
