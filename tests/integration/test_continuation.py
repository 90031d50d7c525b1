"""A worker process that ends a very short job goes straight on with the next one its
end releases, in the same message (workers.runner): each job still runs once, a cancel
still stops it and a killed process's redelivered message takes it over."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.db import read_scope
from storage.models import Job
from tests.farm import Farm, wait_until
from tests.integration.conftest import farm_of_its_own
from tests.integration.test_faults import pid_gone

QUICK = 30


@pytest.fixture
def own_farm(tmp_path: Path) -> Iterator[Farm]:
    """A farm whose one pool process on the job queues a test starts (`start_worker`) once
    its backlog waits, a message going on for up to 6 s, and a reconciler that
    recovers a dead run only after five minutes: a run taken over within a test was
    taken over by its message's redelivery, and one stopped soon was killed."""
    settings = {
        "continue_for_s": 60,
        # A message goes on for a hundredth of its time limit at most: here 6 s.
        "kind_time_limits": json.dumps({"noop": {"soft_s": 600, "hard_s": 660}}),
        "stale_running_after_s": 300,
        # A run finds out late that its job was canceled: only a revoke stops it soon.
        "progress_db_interval_s": 60,
        "heartbeat_interval_s": 60,
    }
    with farm_of_its_own(tmp_path, **settings) as farm:
        farm.start_web()
        yield farm


def quick_then(farm: Farm, api_key: str, last: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """`QUICK` very short jobs, then one more with `last`'s params, run by one pool
    process; returns the quick jobs' ids and the last job once it runs."""
    api = farm.client(api_key)
    quick = [api.submit()["id"] for _ in range(QUICK)]
    job = api.submit(params=last)
    farm.start_worker("long", concurrency=1)
    running = wait_until(
        lambda: (j := api.job(job["id"]))["state"] == "running" and j["worker_pid"] and j,
        60,
        "the last job to run",
    )
    return quick, running


def dispatch_ids(farm: Farm, ids: list[str]) -> list[str]:
    with read_scope(farm.database_url) as db:
        return list(db.scalars(select(Job.dispatch_id).where(Job.id.in_(ids))))


def test_very_short_jobs_share_messages_and_each_runs_once(own_farm: Farm) -> None:
    creds = own_farm.create_key("many")
    api = own_farm.client(creds.api_key)
    ids = [api.submit(params={"n": i})["id"] for i in range(200)]
    own_farm.start_worker("long", concurrency=1)

    done = [api.wait_final(job_id, timeout_s=120) for job_id in ids]

    assert {job["state"] for job in done} == {"succeeded"}
    assert {job["attempts"] for job in done} == {1}
    assert [job["result"]["params"]["n"] for job in done] == list(range(200))
    # The backlog was there when the worker came: once the process has seen its first
    # runs (a cold start's may be slow) it knows they are very short, and goes on.
    assert len(set(dispatch_ids(own_farm, ids))) <= 10
    with read_scope(own_farm.database_url) as db:
        running = db.scalar(select(func.count()).where(Job.state == "running"))
    assert running == 0


def test_a_continued_job_whose_process_dies_is_taken_over_by_its_message(
    own_farm: Farm,
) -> None:
    creds = own_farm.create_key("killed")
    quick, running = quick_then(own_farm, creds.api_key, {"cpu_seconds": 0.5, "wait_seconds": 2})
    # It runs under the message of a job before it: continued, not sent.
    assert running["task_id"] in set(dispatch_ids(own_farm, quick))

    os.kill(running["worker_pid"], signal.SIGKILL)

    api = own_farm.client(creds.api_key)
    done = api.wait_final(running["id"], timeout_s=60)
    assert done["state"] == "succeeded"
    assert done["attempts"] == 2
    assert done["worker_pid"] != running["worker_pid"]
    assert {api.job(job_id)["state"] for job_id in quick} == {"succeeded"}


def test_cancel_of_a_continued_job_stops_its_run(own_farm: Farm) -> None:
    creds = own_farm.create_key("canceled")
    quick, running = quick_then(own_farm, creds.api_key, {"cpu_seconds": 5.5})
    assert running["task_id"] in set(dispatch_ids(own_farm, quick))

    api = own_farm.client(creds.api_key)
    response = api.post(f"/v1/jobs/{running['id']}/cancel")

    assert response.status_code == 200
    assert response.json()["state"] == "canceled"
    # Its run would see the cancel only at a progress write, a minute away: the revoke,
    # sent by the message's id, killed its process.
    wait_until(lambda: pid_gone(running["worker_pid"]), 5, "the job's process to be killed")
    assert api.job(running["id"])["state"] == "canceled"
