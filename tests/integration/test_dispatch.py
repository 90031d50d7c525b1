"""Dispatch from SQL on a real farm: fair shares between tenants, priorities that hold,
per-tenant caps, positions in the backlog. Each test has a farm of its own (its own
Redis and database), so that no other test's jobs share its queues."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import func, select

from storage.db import read_scope
from storage.models import Job
from tests.conftest import fresh_postgres_database
from tests.farm import Farm, RedisServer, wait_until
from tests.integration.conftest import FAST_SETTINGS, farm_of_its_own
from tests.integration.test_smartmanu import CHEST_SOLID, Smartmanu
from workers.dispatch import SLOTS_KEY, announce, read_slots

SLOTS = 2


@pytest.fixture
def own_farm(tmp_path: Path) -> Iterator[Farm]:
    with farm_of_its_own(tmp_path) as farm:
        yield farm


def start(farm: Farm, long: int) -> None:
    farm.start_web()
    farm.start_worker("long", concurrency=long)
    farm.start_worker("short", concurrency=2)


def timings(farm: Farm, tenant_id: str) -> list[Any]:
    """The tenant's jobs' created/released/started/finished times, from SQL."""
    with read_scope(farm.database_url) as db:
        return list(
            db.execute(
                select(Job.id, Job.created_at, Job.released_at, Job.started_at, Job.finished_at)
                .where(Job.tenant_id == tenant_id)
                .order_by(Job.started_at)
            ).all()
        )


def finished_count(farm: Farm, tenant_id: str) -> int:
    with read_scope(farm.database_url) as db:
        stmt = select(func.count()).where(Job.tenant_id == tenant_id, Job.finished_at.is_not(None))
        return int(db.scalar(stmt) or 0)


def test_a_small_tenant_is_not_stuck_behind_a_big_batch(own_farm: Farm) -> None:
    start(own_farm, long=SLOTS)
    big, small = own_farm.create_key("big"), own_farm.create_key("small")
    tasks = [{"task_id": f"a{i:04d}", "design_params": CHEST_SOLID} for i in range(2000)]
    answer = Smartmanu(own_farm.base_url, big.api_key).post("/v2/async/batch", {"tasks": tasks})
    assert answer.status_code == 200, answer.text
    wait_until(lambda: finished_count(own_farm, big.tenant_id) >= 4, 60, "A's batch to start")

    mine = [{"task_id": f"b{i:02d}", "design_params": CHEST_SOLID} for i in range(20)]
    answer = Smartmanu(own_farm.base_url, small.api_key).post("/v2/async/batch", {"tasks": mine})
    assert answer.status_code == 200, answer.text
    wait_until(lambda: finished_count(own_farm, small.tenant_id) == 20, 240, "B's 20 designs")
    a_done = finished_count(own_farm, big.tenant_id)

    assert a_done < 500, f"A had {a_done} of 2000 done when B's 20 were"
    rows = timings(own_farm, small.tenant_id)
    began, ended = min(r.created_at for r in rows), max(r.finished_at for r in rows)
    # A job's turn on a slot, overheads included: the farm's pace while B's jobs were in.
    turn = SLOTS * (ended - began).total_seconds() / finished_between(own_farm, began, ended)
    waits = [(r.started_at - r.created_at).total_seconds() for r in rows]
    # B's fair share of the two slots is one: its k-th design (by start) may wait for its
    # k predecessors on that slot, plus a few turns for the jobs of A already running.
    for k, wait in enumerate(waits):
        assert wait <= (k + 3) * turn, (k, wait, turn)
    p95 = sorted(waits)[int(0.95 * (len(waits) - 1))]
    assert p95 <= (0.95 * len(waits) + 3) * turn


def finished_between(farm: Farm, began: datetime, ended: datetime) -> int:
    with read_scope(farm.database_url) as db:
        stmt = select(func.count()).where(Job.finished_at >= began, Job.finished_at <= ended)
        return int(db.scalar(stmt) or 0)


def submit_many(api_key: str, farm: Farm, count: int, **body: Any) -> list[dict[str, Any]]:
    local = threading.local()

    def one(_: int) -> dict[str, Any]:
        if not hasattr(local, "api"):
            local.api = farm.client(api_key)
        return local.api.submit(**body)

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(count)))


def test_a_high_priority_job_starts_before_everything_waiting(own_farm: Farm) -> None:
    start(own_farm, long=2)
    creds = own_farm.create_key("queue-jumper")
    api = own_farm.client(creds.api_key)
    queued = submit_many(creds.api_key, own_farm, 500, params={"cpu_seconds": 0.05})
    waiting = api.job(queued[-1]["id"])
    assert waiting["released_at"] is None and waiting["queue_position"] > 100
    assert waiting["priority"] == 5

    urgent = api.submit(params={"cpu_seconds": 0.05}, priority=9)
    done = api.wait_final(urgent["id"], timeout_s=60)

    assert done["state"] == "succeeded" and done["priority"] == 9
    rows = {r.id: r for r in timings(own_farm, creds.tenant_id)}
    mine = rows[urgent["id"]]
    went_first = [
        r
        for r in rows.values()
        if r.id != mine.id and r.started_at is not None and r.started_at < mine.started_at
    ]
    # Only jobs released before it went first: those in flight when it came (a window:
    # the slots and one ready per slot), and those a release running while its insert
    # committed took without seeing it (at most another window). None released after it.
    assert all(r.released_at <= mine.released_at for r in went_first)
    overtook = [r for r in went_first if r.started_at > mine.created_at]
    assert len(overtook) <= 2 * (SLOTS + SLOTS), overtook
    still_waiting = [
        r for r in rows.values() if r.started_at is None or r.started_at > mine.started_at
    ]
    assert len(still_waiting) > 300


def running_by_tenant(farm: Farm) -> dict[str, int]:
    with read_scope(farm.database_url) as db:
        rows = db.execute(
            select(Job.tenant_id, func.count())
            .where(Job.state == "running")
            .group_by(Job.tenant_id)
        ).all()
    return {tenant: int(count) for tenant, count in rows}


def test_a_tenant_cap_on_a_queue_is_never_exceeded(own_farm: Farm) -> None:
    start(own_farm, long=4)
    capped, free = own_farm.create_key("capped"), own_farm.create_key("uncapped")
    set_cap = own_farm.jobfarm("dispatch", "set", "capped", "--queue", "cad", "--cap", "2")
    assert '"max_in_flight": 2' in set_cap.stdout
    samples: list[dict[str, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(running_by_tenant(own_farm))
            done.wait(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        ids = [
            j["id"] for j in submit_many(capped.api_key, own_farm, 12, params={"cpu_seconds": 0.4})
        ]
        ids += [
            j["id"] for j in submit_many(free.api_key, own_farm, 12, params={"cpu_seconds": 0.4})
        ]
        wait_until(
            lambda: (
                finished_count(own_farm, capped.tenant_id) == 12
                and finished_count(own_farm, free.tenant_id) == 12
            ),
            120,
            "every job",
        )
    finally:
        done.set()
        sampler.join()

    peak_capped = max(s.get(capped.tenant_id, 0) for s in samples)
    peak_total = max(sum(s.values()) for s in samples)
    assert peak_capped == 2, peak_capped
    assert peak_total > 2, "the other tenant used the slots the cap left free"
    assert len(samples) > 50


def test_policies_are_listed_and_a_cap_can_be_lifted(own_farm: Farm) -> None:
    own_farm.create_key("weighed")
    own_farm.jobfarm("dispatch", "set", "weighed", "--weight", "3")
    own_farm.jobfarm("dispatch", "set", "weighed", "--queue", "render", "--cap", "1")
    own_farm.jobfarm("dispatch", "set", "weighed", "--queue", "render", "--no-cap")

    listed = own_farm.jobfarm("dispatch", "list").stdout.splitlines()

    assert len(listed) == 2
    assert '"queue": "*", "weight": 3, "max_in_flight": null' in listed[0]
    assert '"queue": "render", "weight": 1, "max_in_flight": null' in listed[1]


def test_released_jobs_whose_messages_redis_lost_are_released_again(tmp_path: Path) -> None:
    # Redis restarted empty: every released message is gone. Their jobs must not hold
    # the window until `lost_queued_after_s` (here an hour): the reconciler sees the
    # broker no longer holds them.
    server = RedisServer(tmp_path / "redis")
    server.start()
    settings = {**FAST_SETTINGS, "lost_queued_after_s": 3600, "vanished_after_s": 2}
    with fresh_postgres_database() as database_url:
        farm = Farm(tmp_path, server.url, database_url, **settings)
        farm.migrate()
        try:
            farm.start_roles(long=2, short=1)
            creds = farm.create_key("forgotten")
            farm.stop("worker-long")  # its lease outlives it: jobs are released, and wait
            submitted = [farm.client(creds.api_key).submit() for _ in range(2)]
            mine = [job["task_id"].encode() for job in submitted]
            wait_until(
                lambda: all(
                    any(m in raw for raw in farm.redis().lrange("cad", 0, -1)) for m in mine
                ),
                30,
                "both messages to reach Redis",
            )
            farm.redis().delete("cad")  # as a restart without persistence would
            farm.start_worker("long", concurrency=2)

            api = farm.client(creds.api_key)
            done = [api.wait_final(job["id"], timeout_s=60) for job in submitted]
        finally:
            farm.stop_all()
            server.stop()

    assert [job["state"] for job in done] == ["succeeded", "succeeded"]
    assert all(d["task_id"] != s["task_id"] for d, s in zip(done, submitted, strict=True))
    assert all(d["attempts"] == 1 for d in done)


def test_slot_leases_add_up_and_lapse(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    announce(client, "long-1@a", (queue,), 3)
    announce(client, "long-2@b", (queue,), 2)
    assert read_slots(client, (queue,)) == {queue: 5}

    # A lease past its time counts for nothing, and is cleared away.
    client.hset(SLOTS_KEY + queue, "long-1@a", f"3 {time.time() - 1:.0f}")
    assert read_slots(client, (queue,)) == {queue: 2}
    assert client.hkeys(SLOTS_KEY + queue) == [b"long-2@b"]
    client.delete(SLOTS_KEY + queue)
