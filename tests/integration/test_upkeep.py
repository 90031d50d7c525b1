"""Progress, recovery of lost messages, retention and the audit log, on the real farm."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from sqlalchemy import update

from storage.db import session_scope
from storage.models import Job, StoredFile, utcnow
from tests.farm import Farm, wait_until
from tests.rabbit import amqp_admin_url
from workers.channels import progress_channel


def test_progress_is_published_on_redis_as_the_job_runs(farm: Farm, tenant) -> None:
    pubsub = farm.redis().pubsub()
    job = tenant.api.submit(params={"cpu_seconds": 2})
    pubsub.subscribe(progress_channel(job["id"]))
    seen: list[float] = []

    def collect() -> bool:
        message = pubsub.get_message(timeout=0.5)
        if message and message["type"] == "message":
            seen.append(json.loads(message["data"])["completion"])
        return bool(seen) and seen[-1] == 100

    wait_until(collect, 30, "progress to reach 100", every_s=0)
    pubsub.close()

    assert len(seen) >= 3
    assert seen == sorted(seen)


@pytest.mark.skipif(
    amqp_admin_url() is not None, reason="the farm's broker is RabbitMQ: no message is in Redis"
)
def test_a_message_lost_inside_redis_is_sent_again(farm: Farm, tenant) -> None:
    farm.stop("worker-long")
    try:
        job = tenant.api.submit()
        # Its own message: other tests' jobs may still be in flight, and released first.
        mine = job["task_id"].encode()
        wait_until(
            lambda: any(mine in m for m in farm.redis().lrange("cad", 0, -1)),
            30,
            "the message to reach Redis",
        )
        farm.redis().delete("cad")  # Redis loses the message
    finally:
        farm.start_worker("long", concurrency=2)

    done = tenant.api.wait_final(job["id"], timeout_s=60)

    assert done["state"] == "succeeded"
    assert done["attempts"] == 1
    assert done["task_id"] != job["task_id"]


def test_purge_deletes_expired_uploads_and_old_outputs(farm: Farm, tenant) -> None:
    upload = tenant.api.post("/v1/files", params={"name": "old.bin"}, data=b"old").json()
    done = tenant.api.wait_final(tenant.api.submit()["id"])
    output_url = done["outputs"][0]["url"]
    assert requests.get(output_url, timeout=10).status_code == 200
    age_past_retention(farm, upload["id"], done["id"])

    purged = json.loads(farm.jobfarm("purge").stdout)

    assert purged["files"] >= 1 and purged["job_outputs"] >= 1
    assert tenant.api.get(f"/v1/files/{upload['id']}").status_code == 404
    assert requests.get(upload["url"], timeout=10).status_code == 404
    assert requests.get(output_url, timeout=10).status_code == 404
    assert tenant.api.job(done["id"])["outputs"] == []


def test_purge_deletes_what_a_dead_run_left_and_keeps_what_its_job_names(
    farm: Farm, tenant
) -> None:
    done = tenant.api.wait_final(tenant.api.submit()["id"])
    [named] = farm.blob_keys(f"jobs/{done['id']}")
    # As a first run killed while storing its outputs, taken over by a second that
    # succeeded; two days on.
    farm.blob_store().put_chunks(f"jobs/{done['id']}/run_dead/result.json", [b'{"par'])
    with session_scope(farm.database_url) as session:
        two_days_ago = utcnow() - timedelta(days=2)
        session.execute(
            update(Job).where(Job.id == done["id"]).values(finished_at=two_days_ago, attempts=2)
        )

    purged = json.loads(farm.jobfarm("purge").stdout)

    assert purged["orphan_runs"] >= 1
    assert farm.blob_keys(f"jobs/{done['id']}") == [named]
    assert requests.get(done["outputs"][0]["url"], timeout=10).json() == done["result"]
    with session_scope(farm.database_url) as session:
        assert session.get(Job, done["id"]).outputs_swept_at is not None


def test_audit_log_records_who_did_what_with_the_request_id(farm: Farm, tenant) -> None:
    job = tenant.api.post(
        "/v1/jobs",
        json={"kind": "noop", "params": {"cpu_seconds": 3}},
        headers={"X-Request-Id": "audit-1"},
    )
    assert tenant.api.post(f"/v1/jobs/{job.json()['id']}/cancel").status_code == 200

    lines = farm.jobfarm("audit", "--tenant", tenant.creds.tenant_id).stdout.splitlines()
    events = [json.loads(line) for line in lines]

    assert [e["action"] for e in events][-2:] == ["job.create", "job.cancel"]
    assert events[-2]["request_id"] == "audit-1"
    assert events[-2]["object_id"] == job.json()["id"]


def age_past_retention(farm: Farm, file_id: str, job_id: str) -> None:
    """Date the upload's expiry and the job's end long ago, as if retention had passed."""
    long_ago = utcnow() - timedelta(days=400)
    with session_scope(farm.database_url) as session:
        session.execute(
            update(StoredFile).where(StoredFile.id == file_id).values(expires_at=long_ago)
        )
        session.execute(update(Job).where(Job.id == job_id).values(finished_at=long_ago))
