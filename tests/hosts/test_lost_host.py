"""A worker host lost mid-run, cut off the network or killed whole: its jobs finish on
another host, each exactly once."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from standardwebhooks import Webhook

from storage.db import session_scope
from tests.farm import Api, wait_until
from tests.hosts.conftest import LONG_CONCURRENCY, SPARE_HOST, MultiHostFarm

JOBS = 20
# With one host cut already, 10 fill the two left 1¼ times.
KILLED_JOBS = 10
# Long enough that the loss lands mid-job, mostly waiting so that the tier costs the
# machine little CPU; 20 of them fill both hosts' long slots 2½ times.
PARAMS = {"cpu_seconds": 0.2, "wait_seconds": 6}
CUT, KEPT = "worker-b", "worker-a"


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
    """`host`'s running jobs once at least half its long slots run one and every one of
    them is between 10 % and 80 % done (none about to finish as the host goes); empty
    before then."""
    running = [r for r in runs(farm).values() if r.state == "running" and on_host(r, host)]
    in_middle = all(10 <= r.completion <= 80 for r in running)
    return running if in_middle and 2 * len(running) >= LONG_CONCURRENCY else []


def taken_back(farm: MultiHostFarm, lost: list[Run], host: str) -> bool:
    """No job lost with `host` is still running there, as far as SQL knows."""
    now = runs(farm)
    return not any(now[r.job_id].state == "running" and on_host(now[r.job_id], host) for r in lost)


def running_again(farm: MultiHostFarm, lost: list[Run], host: str) -> bool:
    """Every job lost with `host` has been claimed again, by another host."""
    now = runs(farm)
    return all(now[r.job_id].attempts == 2 and not on_host(now[r.job_id], host) for r in lost)


def delivered(farm: MultiHostFarm, ids: set[str]) -> bool:
    """Every job in `ids` has its one webhook delivery, and all are delivered."""
    with session_scope(farm.database_url) as session:
        rows = session.execute(text("SELECT job_id, status FROM webhook_deliveries")).all()
    mine = [row.status for row in rows if row.job_id in ids]
    return len(mine) == len(ids) and all(status == "delivered" for status in mine)


@dataclass(frozen=True)
class Outcome:
    """What became of a batch submitted before a host was lost in its middle."""

    finals: dict[str, dict[str, Any]]
    lost: list[Run]
    taken_back_s: float
    running_again_s: float
    elapsed_s: float

    def summary(self, how: str) -> str:
        attempts = sorted(job["attempts"] for job in self.finals.values())
        return (
            f"\n{len(self.finals)} jobs of {PARAMS}, {how} with {len(self.lost)} mid-run:"
            f" all ended in {self.elapsed_s:.1f} s; its jobs taken back"
            f" {self.taken_back_s:.1f} s after, running again {self.running_again_s:.1f} s"
            f" after; attempts {attempts}"
        )


def lose_a_host_mid_run(
    farm: MultiHostFarm, api: Api, jobs: int, host: str, lose: Callable[[], None], tag: str
) -> Outcome:
    """Submit `jobs` jobs (callbacks to the receiver under `tag`), call `lose` once every
    long slot of `host` is mid-job, and wait for every job to end and be delivered."""
    callback_url = f"{farm.receiver.url}/{tag}"
    submitted = [
        api.submit(params={**PARAMS, "n": n}, callback_url=callback_url) for n in range(jobs)
    ]
    ids = {job["id"] for job in submitted}
    started = time.monotonic()
    lost = wait_until(lambda: mid_run_on(farm, host), 120, f"{host} to be mid-way through jobs")
    lose()
    lost_at = time.monotonic()
    wait_until(lambda: taken_back(farm, lost, host), 60, f"{host}'s jobs to be taken back")
    taken_back_s = time.monotonic() - lost_at
    wait_until(lambda: running_again(farm, lost, host), 60, f"{host}'s jobs to run again")
    running_again_s = time.monotonic() - lost_at
    finals = {job_id: api.wait_final(job_id, timeout_s=240) for job_id in ids}
    wait_until(lambda: delivered(farm, ids), 60, "every webhook to be delivered")
    elapsed_s = time.monotonic() - started
    return Outcome(finals, lost, taken_back_s, running_again_s, elapsed_s)


def assert_each_ran_once(outcome: Outcome, kept: str) -> None:
    """Every job succeeded, in at most two attempts; each lost one in exactly two, the
    second on `kept`."""
    finals = outcome.finals
    assert {job["state"] for job in finals.values()} == {"succeeded"}
    assert all(job["attempts"] <= 2 for job in finals.values())
    for run in outcome.lost:
        assert finals[run.job_id]["attempts"] == 2
        assert finals[run.job_id]["worker"].endswith(f"@{kept}")


def assert_one_verified_webhook_each(
    farm: MultiHostFarm, secret: str, ids: set[str], tag: str
) -> None:
    """The receiver got one delivery per job under `tag`, signed with the tenant's
    secret, each under its own webhook-id, and nothing else there."""
    received = [hit for hit in farm.receiver.received if hit.path.endswith(f"/{tag}")]
    events = [Webhook(secret).verify(hit.body, hit.headers) for hit in received]
    assert len(received) == len(ids)
    assert {event["type"] for event in events} == {"job.succeeded"}
    assert sorted(event["data"]["id"] for event in events) == sorted(ids)
    assert len({hit.headers["webhook-id"] for hit in received}) == len(ids)


def assert_outputs_come_from_object_storage(
    farm: MultiHostFarm, api: Api, finals: dict[str, dict[str, Any]]
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


def test_jobs_of_a_host_cut_mid_run_finish_on_the_other_host_exactly_once(
    multi_host_farm: MultiHostFarm,
) -> None:
    farm = multi_host_farm
    creds = farm.create_key("hosts-cut")
    api = farm.client(creds.api_key)

    outcome = lose_a_host_mid_run(farm, api, JOBS, CUT, lambda: farm.network.cut(CUT), tag="cut")

    print(outcome.summary(f"{CUT} cut off the network"))
    assert_each_ran_once(outcome, KEPT)
    assert_one_verified_webhook_each(farm, creds.webhook_secret, set(outcome.finals), "cut")
    assert_outputs_come_from_object_storage(farm, api, outcome.finals)


def test_jobs_of_a_host_killed_whole_mid_run_finish_on_another_host_exactly_once(
    multi_host_farm: MultiHostFarm,
) -> None:
    farm = multi_host_farm
    farm.start_worker_roles(SPARE_HOST)
    creds = farm.create_key("hosts-killed")
    api = farm.client(creds.api_key)

    outcome = lose_a_host_mid_run(
        farm, api, KILLED_JOBS, SPARE_HOST, farm.hosts[SPARE_HOST].kill, tag="killed"
    )

    print(outcome.summary(f"every process of {SPARE_HOST} SIGKILLed"))
    assert_each_ran_once(outcome, KEPT)
    assert_one_verified_webhook_each(farm, creds.webhook_secret, set(outcome.finals), "killed")
    assert_outputs_come_from_object_storage(farm, api, outcome.finals)


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
