"""Retrying ended jobs and listing dead letters over the native API and the operator's
CLI, against a real farm (web, workers and beat processes)."""

from __future__ import annotations

import json
import subprocess
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.farm import Farm, free_port, wait_until
from tests.receiver import WebhookReceiver

# Fails its first attempt for good, then succeeds: a job a retry cures.
FAILS_ONCE = {"fail": "permanent", "fail_attempts": 1}


def failed_job(tenant: Any, **params: Any) -> dict[str, Any]:
    job = tenant.api.submit(params={**FAILS_ONCE, **params})
    done = tenant.api.wait_final(job["id"])
    assert done["state"] == "failed", done
    return done


def header(headers: dict[str, str], name: str) -> str:
    return next(value for key, value in headers.items() if key.lower() == name)


def final_events(receiver: WebhookReceiver) -> list[tuple[str, str]]:
    """(event type, webhook-id) of each delivered job.failed or job.succeeded, in turn."""
    events = [
        (json.loads(r.body)["type"], header(r.headers, "webhook-id")) for r in receiver.successes()
    ]
    return [e for e in events if e[0] in ("job.failed", "job.succeeded")]


def deliveries(tenant: Any, job_id: str) -> list[tuple[str, str]]:
    found = tenant.api.get("/v1/webhooks/deliveries", params={"job_id": job_id}).json()
    return [(d["event_type"], d["status"]) for d in found]


def retries_audited(farm: Farm, tenant: Any) -> list[dict[str, Any]]:
    run = farm.jobfarm("audit", "--tenant", tenant.creds.tenant_id)
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    return [e for e in events if e["action"] == "job.retry"]


def test_a_failed_job_retried_succeeds_as_the_same_job_with_a_new_webhook(farm, tenant) -> None:
    with WebhookReceiver() as receiver:
        job = tenant.api.submit(params=FAILS_ONCE, callback_url=receiver.url)
        assert tenant.api.wait_final(job["id"])["error"]["code"] == "permanent_error"
        # A body is built from the job as it is at each attempt: the failure is seen
        # delivered first, so that its body is the failed job's.
        wait_until(lambda: final_events(receiver), 30, "the failed job's webhook")

        response = tenant.api.post(
            f"/v1/jobs/{job['id']}/retry", headers={"X-Request-Id": "retry-req-1"}
        )
        assert response.status_code == 202, response.text
        assert (response.json()["state"], response.json()["error"]) == ("queued", None)
        done = tenant.api.wait_final(job["id"])
        try:
            wait_until(lambda: len(final_events(receiver)) >= 2, 30, "both final webhooks")
        except AssertionError:
            raise AssertionError(f"{deliveries(tenant, job['id'])} {receiver.received}") from None

    assert (done["id"], done["state"], done["attempts"], done["error"]) == (
        job["id"],
        "succeeded",
        2,
        None,
    )
    events = final_events(receiver)
    assert [kind for kind, _ in events] == ["job.failed", "job.succeeded"]
    assert len({msg_id for _, msg_id in events}) == 2
    [audited] = retries_audited(farm, tenant)
    assert (audited["object_id"], audited["request_id"]) == (job["id"], "retry-req-1")
    assert audited["actor"].startswith("key_")
    assert audited["detail"] == {"from": "failed", "attempts": 1, "bulk": False}


def test_a_failure_webhook_replayed_after_the_retry_still_tells_of_the_failure(tenant) -> None:
    port = free_port()
    since = datetime.now(UTC) - timedelta(seconds=1)
    job = tenant.api.submit(params=FAILS_ONCE, callback_url=f"http://127.0.0.1:{port}/hook")
    assert tenant.api.wait_final(job["id"])["state"] == "failed"
    assert tenant.api.post(f"/v1/jobs/{job['id']}/retry").status_code == 202
    assert tenant.api.wait_final(job["id"])["state"] == "succeeded"
    wait_until(
        lambda: (
            deliveries(tenant, job["id"]) == [("job.failed", "failed"), ("job.succeeded", "failed")]
        ),
        60,
        "both deliveries to the receiver, down, to run out of attempts",
    )

    with WebhookReceiver(port=port) as back:
        since_then = {"since": since.isoformat().replace("+00:00", "Z")}
        replay = tenant.api.post("/v1/webhooks/replay", json=since_then)
        assert replay.json()["replayed"] == 2, replay.text
        wait_until(lambda: len(back.successes()) == 2, 30, "the two replayed deliveries")

    told = {body["type"]: body["data"] for body in (json.loads(h.body) for h in back.received)}
    failure, success = told["job.failed"], told["job.succeeded"]
    assert (failure["state"], failure["attempts"]) == ("failed", 1)
    assert failure["error"]["code"] == "permanent_error"
    assert (success["state"], success["attempts"], success["error"]) == ("succeeded", 2, None)
    assert failure["finished_at"] < success["finished_at"]


def test_a_canceled_job_retried_runs_again(tenant) -> None:
    job = tenant.api.submit(params={"wait_seconds": 1})
    tenant.api.wait_state(job["id"], "running")
    assert tenant.api.post(f"/v1/jobs/{job['id']}/cancel").status_code == 200

    assert tenant.api.post(f"/v1/jobs/{job['id']}/retry").status_code == 202
    done = tenant.api.wait_final(job["id"])

    assert (done["state"], done["attempts"]) == ("succeeded", 2)


def test_a_running_or_succeeded_job_is_not_retried_409(tenant) -> None:
    job = tenant.api.submit(params={"wait_seconds": 2})
    tenant.api.wait_state(job["id"], "running")
    running = tenant.api.post(f"/v1/jobs/{job['id']}/retry")
    tenant.api.wait_final(job["id"])
    succeeded = tenant.api.post(f"/v1/jobs/{job['id']}/retry")

    for response, state in ((running, "running"), (succeeded, "succeeded")):
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "/problems/job-not-retryable"
        assert state in response.json()["detail"]
    assert tenant.api.job(job["id"])["attempts"] == 1


def test_another_tenants_or_an_unknown_job_is_404(make_tenant) -> None:
    owner, stranger = make_tenant(), make_tenant()
    job = failed_job(owner)

    for api, job_id in ((stranger.api, job["id"]), (owner.api, "job_nosuchjob")):
        response = api.post(f"/v1/jobs/{job_id}/retry")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    assert stranger.api.post("/v1/jobs/retry", json={}).json()["count"] == 0
    assert owner.api.job(job["id"])["state"] == "failed"


def test_two_concurrent_retries_of_one_job_make_one_new_attempt(farm, tenant) -> None:
    # The run after the retry waits a second, so the loser sees the job queued or running.
    job = failed_job(tenant, wait_seconds=1)
    start = threading.Barrier(2)
    codes: list[int] = []

    def retry() -> None:
        start.wait()
        codes.append(tenant.api.post(f"/v1/jobs/{job['id']}/retry").status_code)

    threads = [threading.Thread(target=retry) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = tenant.api.wait_final(job["id"])

    assert sorted(codes) == [202, 409]
    assert (done["state"], done["attempts"]) == ("succeeded", 2)
    assert len(retries_audited(farm, tenant)) == 1


def test_a_bulk_retry_takes_a_bounded_number_by_filter_and_says_when_more_match(
    farm, tenant
) -> None:
    failed = [failed_job(tenant) for _ in range(3)]
    tenant.api.wait_final(tenant.api.submit()["id"])

    first = tenant.api.post("/v1/jobs/retry", json={"state": "failed", "limit": 2}).json()
    rest = tenant.api.post("/v1/jobs/retry", json={"kind": "noop", "limit": 2}).json()
    ended = [tenant.api.wait_final(j["id"]) for j in failed]

    assert first == {"count": 2, "ids": [j["id"] for j in failed[:2]], "more": True}
    assert rest == {"count": 1, "ids": [failed[2]["id"]], "more": False}
    assert [(j["state"], j["attempts"]) for j in ended] == [("succeeded", 2)] * 3
    audited = retries_audited(farm, tenant)
    assert sorted(e["object_id"] for e in audited) == sorted(j["id"] for j in failed)
    assert all(e["detail"]["bulk"] and e["request_id"] for e in audited)


def test_a_bulk_retry_filters_by_creation_time_and_bounds_its_limit(tenant) -> None:
    job = failed_job(tenant)
    created = job["created_at"]

    later = tenant.api.post("/v1/jobs/retry", json={"created_after": "2999-01-01T00:00:00Z"})
    earlier = tenant.api.post("/v1/jobs/retry", json={"created_before": created})
    too_many = tenant.api.post("/v1/jobs/retry", json={"limit": 501})
    unknown = tenant.api.post("/v1/jobs/retry", json={"state": "succeeded"})
    taken = tenant.api.post("/v1/jobs/retry", json={"created_after": created, "batch_id": None})

    assert later.json()["count"] == earlier.json()["count"] == 0
    for refused in (too_many, unknown):
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
    assert taken.json()["ids"] == [job["id"]]


def test_the_dead_letters_show_failed_jobs_last_errors_and_not_succeeded_ones(make_tenant) -> None:
    tenant, stranger = make_tenant(), make_tenant()
    exhausted = tenant.api.submit(params={"fail": "retryable"})
    permanent = failed_job(tenant)
    succeeded = tenant.api.wait_final(tenant.api.submit()["id"])
    tenant.api.wait_final(exhausted["id"])

    page = tenant.api.get("/v1/jobs/dead-letter").json()
    first = tenant.api.get("/v1/jobs/dead-letter", params={"limit": 1, "offset": 1}).json()

    by_id = {item["id"]: item for item in page["items"]}
    assert page["total"] == 2 and set(by_id) == {exhausted["id"], permanent["id"]}
    assert succeeded["id"] not in by_id
    spent = by_id[exhausted["id"]]
    assert (spent["attempts"], spent["max_attempts"], spent["error"]["code"]) == (
        5,
        5,
        "retryable_error",
    )
    assert "gave up after 5 attempts" in spent["error"]["message"]
    assert by_id[permanent["id"]]["error"]["code"] == "permanent_error"
    assert spent["finished_at"] and spent["kind"] == "noop"
    assert [i["id"] for i in page["items"]] == [exhausted["id"], permanent["id"]]
    assert (first["total"], [i["id"] for i in first["items"]]) == (2, [permanent["id"]])
    assert stranger.api.get("/v1/jobs/dead-letter").json()["total"] == 0


def test_an_exhausted_job_retried_gets_a_fresh_allowance_counted_on(tenant) -> None:
    # Fails for attempts 1-7 (retryably): 5 spent, then 2 more after the retry, then done.
    job = tenant.api.submit(params={"fail": "retryable", "fail_attempts": 7})
    assert tenant.api.wait_final(job["id"])["attempts"] == 5

    assert tenant.api.post(f"/v1/jobs/{job['id']}/retry").status_code == 202
    done = tenant.api.wait_final(job["id"])

    assert (done["state"], done["attempts"]) == ("succeeded", 8)
    assert tenant.api.get("/v1/jobs/dead-letter").json()["total"] == 0


def test_the_operator_retries_a_job_by_id_and_a_tenants_jobs_by_filter(farm, make_tenant) -> None:
    name = f"ops-{uuid.uuid4().hex[:8]}"
    tenant = make_tenant(name)
    one, two = failed_job(tenant), failed_job(tenant)

    by_id = farm.jobfarm("jobs", "retry", one["id"])
    with pytest.raises(subprocess.CalledProcessError) as again:
        farm.jobfarm("jobs", "retry", one["id"])
    by_filter = farm.jobfarm(
        "jobs", "retry", "--tenant", name, "--state", "failed", "--since", "1h"
    )
    done = [tenant.api.wait_final(j["id"]) for j in (one, two)]

    assert json.loads(by_id.stdout) == {"count": 1, "ids": [one["id"]], "more": False}
    assert again.value.returncode == 1
    assert "only a failed or canceled job is retried" in again.value.stderr
    assert json.loads(by_filter.stdout)["ids"] == [two["id"]]
    assert [j["state"] for j in done] == ["succeeded", "succeeded"]
    assert {e["actor"] for e in retries_audited(farm, tenant)} == {"cli"}
