"""Faults in the middle of work: killed worker processes, cancels, lost workers."""

from __future__ import annotations

import os
import signal
import time

import psutil

from tests.farm import Farm, wait_until
from tests.receiver import WebhookReceiver


def pid_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def stopped_burning(pid: int, window_s: float = 0.5) -> bool:
    """The process is gone, or it spends (almost) no CPU over `window_s`: a pool process
    whose run saw the cancel first and returned, before the revoke came to kill it."""
    try:
        process = psutil.Process(pid)
        before = sum(process.cpu_times()[:2])
        time.sleep(window_s)  # the sampling window of the CPU figure
        return sum(process.cpu_times()[:2]) - before < 0.1 * window_s or pid_gone(pid)
    except psutil.NoSuchProcess:
        return True


def test_job_whose_worker_process_is_killed_runs_again_and_succeeds_once(tenant) -> None:
    with WebhookReceiver() as receiver:
        job = tenant.api.submit(
            params={"cpu_seconds": 1, "wait_seconds": 2}, callback_url=receiver.url
        )
        running = wait_until(
            lambda: (j := tenant.api.job(job["id"]))["completion"] > 10 and j, 30, "progress"
        )
        os.kill(running["worker_pid"], signal.SIGKILL)

        done = tenant.api.wait_final(job["id"], timeout_s=60)
        wait_until(receiver.successes, 30, "the callback")
        [delivery] = tenant.api.get("/v1/webhooks/deliveries", params={"job_id": job["id"]}).json()

    assert done["state"] == "succeeded"
    assert done["attempts"] == 2
    assert done["worker_pid"] != running["worker_pid"]
    assert len(receiver.received) == 1
    assert receiver.received[0].headers["webhook-id"] == delivery["webhook_id"]


def test_cancel_of_a_running_job_stops_its_run(tenant) -> None:
    job = tenant.api.submit(params={"cpu_seconds": 5.5})
    running = wait_until(
        lambda: (j := tenant.api.job(job["id"]))["state"] == "running" and j["worker_pid"] and j,
        30,
        "the job to run",
    )

    response = tenant.api.post(f"/v1/jobs/{job['id']}/cancel")

    assert response.status_code == 200
    assert response.json()["state"] == "canceled"
    # The job burns CPU until its end: the run stops within seconds, killed by the revoke
    # or returning on its own once its progress report finds the job canceled.
    wait_until(lambda: stopped_burning(running["worker_pid"]), 5, "the job's run to stop")
    assert tenant.api.job(job["id"])["state"] == "canceled"


def test_cancel_of_a_finished_job_is_409(tenant) -> None:
    done = tenant.api.wait_final(tenant.api.submit()["id"])

    response = tenant.api.post(f"/v1/jobs/{done['id']}/cancel")

    assert response.status_code == 409
    assert tenant.api.job(done["id"])["state"] == "succeeded"


def test_job_of_a_worker_that_died_whole_is_recovered_by_the_reconciler(farm: Farm, tenant) -> None:
    extra = farm.start_worker("long", concurrency=1, name="worker-doomed")
    farm.stop("worker-long")  # leave the doomed worker alone on the long queues
    try:
        job = tenant.api.submit(params={"cpu_seconds": 0.5, "wait_seconds": 3})
        wait_until(lambda: tenant.api.job(job["id"])["state"] == "running", 30, "the job to run")
        farm.stop(extra, signal.SIGKILL)  # the main process and its children, at once
    finally:
        farm.start_worker("long", concurrency=2)

    done = tenant.api.wait_final(job["id"], timeout_s=90)

    assert done["state"] == "succeeded"
    assert done["attempts"] == 2
