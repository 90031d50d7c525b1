"""A worker host lost mid-run: its jobs finish on the other host, each exactly once."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import requests
from sqlalchemy import text
from standardwebhooks import Webhook

from storage.db import session_scope
from tests.farm import wait_until
from tests.hosts.conftest import LONG_CONCURRENCY, MultiHostFarm

JOBS = 20
# Long enough that the cut lands mid-job, mostly waiting so that the tier costs the
# machine little CPU; 20 of them fill both hosts' long slots 2½ times.
PARAMS = {"cpu_seconds": 0.2, "wait_seconds": 6}
LOST, KEPT = "worker-b", "worker-a"


@dataclass(frozen=True)
class Run:
    job_id: str
    state: str
    worker: str | None
    attempts: int
    completion: float


def runs(farm: MultiHostFarm) -> dict[str, Run]:
    """Every job's state as the database has it (one query, light on a busy machine)."""
    with session_scope(farm.database_url) as session:
        rows = session.execute(
            text("SELECT id, state, worker, attempts, completion FROM jobs")
        ).all()
    return {row.id: Run(*row) for row in rows}


def on_host(run: Run, host: str) -> bool:
    return bool(run.worker and run.worker.endswith(f"@{host}"))


def mid_run_on(farm: MultiHostFarm, host: str) -> list[Run]:
    """`host`'s running jobs once every long slot it has is between 10 % and 80 % of a
    job; empty before then."""
    running = [r for r in runs(farm).values() if r.state == "running" and on_host(r, host)]
    in_middle = [r for r in running if 10 <= r.completion <= 80]
    return in_middle if len(in_middle) == LONG_CONCURRENCY else []


def recovered(farm: MultiHostFarm, lost: list[Run]) -> bool:
    """No job lost with its host is still running there, as far as SQL knows."""
    now = runs(farm)
    return not any(now[r.job_id].state == "running" and on_host(now[r.job_id], LOST) for r in lost)


def running_again(farm: MultiHostFarm, lost: list[Run]) -> bool:
    """Every job lost with its host has been claimed again, by another host."""
    now = runs(farm)
    return all(now[r.job_id].attempts == 2 and not on_host(now[r.job_id], LOST) for r in lost)


def deliveries_settled(farm: MultiHostFarm) -> bool:
    with session_scope(farm.database_url) as session:
        statuses = session.scalars(text("SELECT status FROM webhook_deliveries")).all()
    return len(statuses) == JOBS and all(status == "delivered" for status in statuses)


def test_jobs_of_a_host_cut_mid_run_finish_on_the_other_host_exactly_once(
    multi_host_farm: MultiHostFarm,
) -> None:
    farm = multi_host_farm
    creds = farm.create_key("hosts")
    api = farm.client(creds.api_key)
    submitted = [
        api.submit(params={**PARAMS, "n": n}, callback_url=farm.receiver.url) for n in range(JOBS)
    ]
    ids = {job["id"] for job in submitted}
    started = time.monotonic()

    lost = wait_until(lambda: mid_run_on(farm, LOST), 120, f"{LOST} to be mid-way through jobs")
    farm.network.cut(LOST)
    cut_at = time.monotonic()
    wait_until(lambda: recovered(farm, lost), 60, "the lost host's jobs to be taken back")
    recovered_s = time.monotonic() - cut_at
    wait_until(lambda: running_again(farm, lost), 60, "the lost host's jobs to run again")
    again_s = time.monotonic() - cut_at
    finals = {job_id: api.wait_final(job_id, timeout_s=240) for job_id in ids}
    wait_until(lambda: deliveries_settled(farm), 60, "every webhook to be delivered")
    elapsed_s = time.monotonic() - started

    assert {job["state"] for job in finals.values()} == {"succeeded"}
    assert all(job["attempts"] <= 2 for job in finals.values())
    for run in lost:
        assert finals[run.job_id]["attempts"] == 2
        assert finals[run.job_id]["worker"].endswith(f"@{KEPT}")
    print(
        f"\n{JOBS} jobs of {PARAMS} on 2 hosts, {LOST} cut with {len(lost)} mid-run:"
        f" all succeeded in {elapsed_s:.1f} s; its jobs taken back {recovered_s:.1f} s"
        f" after the cut, running again on {KEPT} after {again_s:.1f} s; attempts"
        f" {sorted(job['attempts'] for job in finals.values())}"
    )
    assert_one_verified_webhook_each(farm, creds.webhook_secret, ids)
    assert_outputs_come_from_object_storage(farm, api, finals)


def assert_one_verified_webhook_each(farm: MultiHostFarm, secret: str, ids: set[str]) -> None:
    """The receiver got one delivery per job, signed with the tenant's secret, each under
    its own webhook-id, and nothing else."""
    received = farm.receiver.received
    events = [Webhook(secret).verify(hit.body, hit.headers) for hit in received]
    assert len(received) == len(ids)
    assert {event["type"] for event in events} == {"job.succeeded"}
    assert sorted(event["data"]["id"] for event in events) == sorted(ids)
    assert len({hit.headers["webhook-id"] for hit in received}) == len(ids)


def assert_outputs_come_from_object_storage(
    farm: MultiHostFarm, api: requests.Session, finals: dict[str, dict[str, Any]]
) -> None:
    """Every output downloads through the API host, which can see no worker's disk, and
    no host keeps a blob of its own: they are all in the bucket."""
    for job in finals.values():
        [output] = job["outputs"]
        answer = api.get(output["url"].removeprefix(farm.api_url))
        assert answer.status_code == 200, answer.text
        assert answer.json()["params"] == job["params"]
    for host in farm.hosts.values():
        assert not [p for p in (host.var_dir / "blobs").rglob("*") if p.is_file()], host.name
    stored = farm.s3.names(farm.bucket, "blobs/")
    assert len([name for name in stored if name.endswith("/result.json")]) >= len(finals)


def test_a_host_sees_no_other_hosts_files(multi_host_farm: MultiHostFarm) -> None:
    mine = multi_host_farm.hosts[KEPT].var_dir / "only-mine.txt"
    mine.write_text("worker-a's")

    def cat_on(host: str) -> subprocess.CompletedProcess[str]:
        argv = multi_host_farm.hosts[host].command_argv("cat", str(mine))
        return subprocess.run(argv, capture_output=True, text=True, timeout=30)

    assert cat_on(KEPT).stdout == "worker-a's"
    assert cat_on("api").returncode != 0


# Run on a host of its own: the farm's engine, its idle-in-transaction timeout cut to
# 3 s for the test, takes a tenant row's lock and then waits, as a run whose host is
# lost between an UPDATE and its COMMIT does.
HOLD_A_LOCK = """
import sys, time
from sqlalchemy import text
import storage.db
storage.db.POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS = 3000
with storage.db.session_scope(sys.argv[1]) as session:
    session.execute(text("UPDATE tenants SET name = name WHERE id = :id"), {"id": sys.argv[2]})
    print("locked", flush=True)
    time.sleep(120)
"""


def test_locks_of_a_host_cut_mid_transaction_last_only_until_the_server_ends_it(
    multi_host_farm: MultiHostFarm,
) -> None:
    farm = multi_host_farm
    tenant_id = farm.create_key("locked").tenant_id
    space = farm.network.add_host("sql-client")
    holder = subprocess.Popen(
        [*space.exec_prefix(), sys.executable, "-c", HOLD_A_LOCK, farm.database_url, tenant_id],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        locked_at = time.monotonic()
        farm.network.cut("sql-client")
        with session_scope(farm.database_url) as session:
            session.execute(text("SET LOCAL lock_timeout = '20s'"))
            freed = text("UPDATE tenants SET name = name WHERE id = :id")
            session.execute(freed, {"id": tenant_id})
        held_s = time.monotonic() - locked_at
    finally:
        holder.kill()
        holder.wait(timeout=10)

    assert 2.8 <= held_s < 10
