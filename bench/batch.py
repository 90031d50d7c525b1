"""smartmanu batches: how fast a 10,000-task batch is taken in, and how fast the farm
then works through designs.

Intake: POST /v2/async/batch with N tasks, request sent → response received (the
tasks are validated and stored in the backlog in one transaction, then answered; they
are released to Redis as workers' slots free). Each answer is checked durable: all N
tasks are in SQL when it arrives. Baseline in the same run: sending the same N messages
to Redis one by one, as a farm that enqueued before answering would have to.

Throughput: a batch of M designs through the farm (HTTP → SQL backlog → release →
Redis → worker → blobs → callback rows) against the bare `design` function on the same
inputs in as many processes as the farm has workers. The slot gaps say how soon a
freed slot gets its next job: for each worker process, the time from one job's end to
the next one's start, while the backlog still held work.

    python bench/batch.py [--tasks 10000] [--designs 300] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import itertools
import signal
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from celery import Celery  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402

from storage.db import read_scope, session_scope  # noqa: E402
from storage.models import Job, utcnow  # noqa: E402
from tasks.registry import get_kind  # noqa: E402
from tasks.types import JobContext  # noqa: E402
from tests.farm import Farm, RedisServer, wait_until  # noqa: E402

DESIGN = {
    "product_type": "t_shirt",
    "params": {
        "color": "white",
        "placement": "left_chest",
        "pattern": {"type": "solid", "color": "#1f4e79"},
    },
}
ART = {
    "product_type": "t_shirt",
    "params": {"color": "navy_blue", "pattern": {"type": "ai_generate", "prompt": "科技感线条"}},
}


def token(farm: Farm) -> str:
    prefix, secret = farm.create_key("bench").api_key.rsplit("_", 1)
    answer = requests.post(
        f"{farm.base_url}/auth/token", json={"api_key": prefix, "secret": secret}, timeout=30
    )
    return str(answer.json()["token"])


def batch_body(count: int, design: dict[str, Any], tag: str) -> dict[str, Any]:
    return {"tasks": [{"task_id": f"{tag}-{i}", "design_params": design} for i in range(count)]}


def intake_s(farm: Farm, bearer: str, body: dict[str, Any]) -> tuple[float, str]:
    started = time.perf_counter()
    answer = requests.post(
        f"{farm.base_url}/v2/async/batch",
        json=body,
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=120,
    )
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200, answer.text[:500]
    return elapsed, str(answer.json()["data"]["batch_id"])


def bare_send_s(redis_url: str, count: int) -> float:
    """`count` messages sent one by one over one connection, to a queue nobody reads."""
    app = Celery(broker=redis_url)
    started = time.perf_counter()
    with app.producer_or_acquire() as producer:
        for i in range(count):
            app.send_task("bench.nothing", args=[i], queue="bench-nowhere", producer=producer)
    return time.perf_counter() - started


def stored_tasks(farm: Farm, batch_id: str) -> int:
    with read_scope(farm.database_url) as db:
        return int(db.scalar(select(func.count()).where(Job.batch_id == batch_id)) or 0)


def drop_backlog(farm: Farm) -> None:
    """Cancel every waiting job, in SQL: the intake batches are only timed."""
    with session_scope(farm.database_url) as db:
        db.execute(
            update(Job).where(Job.state == "queued").values(state="canceled", finished_at=utcnow())
        )
    farm.redis().flushdb()


def slot_gaps(farm: Farm, batch_id: str) -> list[float]:
    """Per worker process, each idle span between two of the batch's jobs."""
    with read_scope(farm.database_url) as db:
        rows = db.execute(
            select(Job.worker, Job.worker_pid, Job.started_at, Job.finished_at)
            .where(Job.batch_id == batch_id)
            .order_by(Job.worker, Job.worker_pid, Job.started_at)
        ).all()
    gaps = []
    for before, after in itertools.pairwise(rows):
        if (before.worker, before.worker_pid) == (after.worker, after.worker_pid):
            gaps.append((after.started_at - before.finished_at).total_seconds())
    return gaps


def batch_done(farm: Farm, bearer: str, batch_id: str) -> bool:
    data = requests.get(
        f"{farm.base_url}/v2/async/batch/{batch_id}",
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=30,
    ).json()["data"]
    return bool(data["completed"])


def bare_design(index: int) -> float:
    """One design by the bare function, in a scratch directory; returns its seconds."""
    kind = get_kind("design")
    params = kind.params.model_validate({**ART["params"], "product_type": ART["product_type"]})
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        kind.run(JobContext(params=params, workdir=Path(tmp)))
        return time.perf_counter() - started


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks in the intake batch")
    parser.add_argument("--rounds", type=int, default=3, help="intake batches to time")
    parser.add_argument("--designs", type=int, default=200, help="designs for throughput")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--database-url", help="the farm's database (default: SQLite)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="jobfarm-bench-") as tmp:
        root = Path(tmp)
        server = RedisServer(root / "redis")
        server.start()
        farm = Farm(root / "farm", server.url, args.database_url, log_level="WARNING")
        try:
            farm.migrate()
            farm.start_web()
            bearer = token(farm)
            intake_s(farm, bearer, batch_body(100, DESIGN, "warm"))
            intakes = []
            for r in range(args.rounds):
                seconds, batch_id = intake_s(farm, bearer, batch_body(args.tasks, DESIGN, f"r{r}"))
                assert stored_tasks(farm, batch_id) == args.tasks, "answered before durable"
                intakes.append(seconds)
            # The intake batches are timed, not run: with no worker yet, nothing was
            # released; they are dropped before the workers start.
            drop_backlog(farm)
            sends = [bare_send_s(server.url, args.tasks) for _ in range(args.rounds)]
            farm.redis().flushdb()
            farm.start_worker("long", concurrency=args.concurrency)
            farm.start_worker("short", concurrency=2)
            started = time.perf_counter()
            _, batch_id = intake_s(farm, bearer, batch_body(args.designs, ART, "art"))
            wait_until(lambda: batch_done(farm, bearer, batch_id), 3600, "the batch", every_s=0.5)
            farm_s = time.perf_counter() - started
            gaps = slot_gaps(farm, batch_id)
        finally:
            farm.stop_all()
            server.stop()

    with ProcessPoolExecutor(args.concurrency) as pool:
        list(pool.map(bare_design, range(args.concurrency)))  # warm-up: imports, fonts
        started = time.perf_counter()
        list(pool.map(bare_design, range(args.designs)))
        bare_s = time.perf_counter() - started

    intake, send = statistics.median(intakes), statistics.median(sends)
    print(f"intake of a {args.tasks}-task batch (median of {args.rounds}): {intake:.2f} s")
    print(f"  baseline, sending {args.tasks} messages one by one: {send:.2f} s")
    print(f"  ratio intake/baseline: {intake / send:.2f}")
    print(
        f"throughput, {args.designs} designs ({ART['product_type']}, ai_generate), "
        f"{args.concurrency} worker processes:"
    )
    print(f"  farm: {args.designs / farm_s:.2f} designs/s ({farm_s:.1f} s, HTTP to completed)")
    print(f"  bare function in {args.concurrency} processes: {args.designs / bare_s:.2f} designs/s")
    print(f"  ratio farm/bare: {bare_s / farm_s:.2f}")
    gaps_ms = sorted(g * 1000 for g in gaps)
    p99 = gaps_ms[int(0.99 * (len(gaps_ms) - 1))]
    print(
        f"  slot gaps (a job's end to its process's next start, {len(gaps_ms)} gaps): "
        f"p50 {statistics.median(gaps_ms):.1f} ms, p99 {p99:.1f} ms, max {gaps_ms[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
