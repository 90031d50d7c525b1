"""The README's walk-through, over HTTP only, against `jobfarm up`."""

from __future__ import annotations

import json
import subprocess

import requests
from standardwebhooks import Webhook

from tests.e2e.conftest import FLOWER_AUTH, RunningFarm
from tests.farm import JOBFARM, wait_until
from tests.receiver import WebhookReceiver


def test_noop_with_callback_succeeds_and_the_signed_webhook_verifies(
    running_farm: RunningFarm,
) -> None:
    creds = running_farm.new_key("walkthrough")
    auth = {"Authorization": f"Bearer {creds['api_key']}"}
    with WebhookReceiver() as receiver:
        submitted = requests.post(
            running_farm.api_url + "/v1/jobs",
            headers=auth,
            timeout=10,
            json={"kind": "noop", "params": {"cpu_seconds": 0.5}, "callback_url": receiver.url},
        )
        assert submitted.status_code == 202
        job_id = submitted.json()["id"]

        def poll() -> dict | None:  # type: ignore[type-arg]
            job = requests.get(
                f"{running_farm.api_url}/v1/jobs/{job_id}", headers=auth, timeout=10
            ).json()
            return job if job["state"] == "succeeded" else None

        job = wait_until(poll, 60, "the job to succeed")
        wait_until(receiver.successes, 30, "the webhook")

    [hit] = receiver.received
    payload = Webhook(creds["webhook_secret"]).verify(hit.body, hit.headers)
    assert payload["data"]["id"] == job_id
    assert payload["type"] == "job.succeeded"
    assert requests.get(job["outputs"][0]["url"], timeout=10).status_code == 200


def flower_task(farm: RunningFarm, task_id: str) -> dict | None:  # type: ignore[type-arg]
    response = requests.get(
        f"{farm.flower_url}/api/task/info/{task_id}", auth=FLOWER_AUTH, timeout=10
    )
    return response.json() if response.status_code == 200 else None


def test_flower_lists_the_workers_and_the_jobs_task(running_farm: RunningFarm) -> None:
    creds = running_farm.new_key("flower-watcher")
    auth = {"Authorization": f"Bearer {creds['api_key']}"}
    assert requests.get(running_farm.flower_url + "/api/workers", timeout=10).status_code == 401

    workers = wait_until(
        lambda: (
            (
                w := requests.get(
                    running_farm.flower_url + "/api/workers",
                    auth=FLOWER_AUTH,
                    params={"refresh": "1"},
                    timeout=20,
                ).json()
            )
            and len(w) >= 2
            and w
        ),
        60,
        "Flower to see both workers",
    )
    job = requests.post(
        running_farm.api_url + "/v1/jobs",
        headers=auth,
        timeout=10,
        json={"kind": "noop", "params": {"cpu_seconds": 0.2}},
    ).json()
    task = wait_until(
        lambda: flower_task(running_farm, job["task_id"]), 60, "Flower to know the job's task"
    )

    assert {name.split("-")[0] for name in workers} >= {"short", "long"}
    assert task["name"] == "workers.runner.run_job"
    assert json.loads(task["args"].replace("'", '"')) == [job["id"]]


def test_cli_submit_waits_and_prints_the_finished_job(running_farm: RunningFarm) -> None:
    creds = running_farm.new_key("terminal-user")
    env_key = {**running_farm.env, "JOBFARM_API_KEY": creds["api_key"]}
    out = subprocess.run(
        [
            JOBFARM,
            "submit",
            "noop",
            "--params",
            '{"cpu_seconds": 0.3}',
            "--wait",
            "--api-url",
            running_farm.api_url,
        ],
        env=env_key,
        cwd=running_farm.root,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert out.returncode == 0, out.stderr
    job = json.loads(out.stdout)
    assert job["state"] == "succeeded"
    status = subprocess.run(
        [JOBFARM, "status", job["id"], "--api-url", running_farm.api_url],
        env=env_key,
        cwd=running_farm.root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(status.stdout)["id"] == job["id"]


def test_flower_shows_a_running_job_in_its_progress_state(running_farm: RunningFarm) -> None:
    creds = running_farm.new_key("progress-watcher")
    job = requests.post(
        running_farm.api_url + "/v1/jobs",
        headers={"Authorization": f"Bearer {creds['api_key']}"},
        timeout=10,
        json={"kind": "noop", "params": {"cpu_seconds": 4}},
    ).json()

    task = wait_until(
        lambda: (t := flower_task(running_farm, job["task_id"])) and t["state"] == "PROGRESS" and t,
        30,
        "Flower to show the task in PROGRESS",
    )

    assert task["name"] == "workers.runner.run_job"
