"""The farm's overhead: N `noop` jobs through the whole farm against bare Celery.

Farm: HTTP submit → SQL backlog → release → Redis → worker (claim, run, store output,
mark succeeded and release the next in SQL). Its workers send task events only while
Flower watches (none runs here). Baseline: `send_task` → Redis → a worker running a
no-op task, once with Celery's task events off (its default) and once on (as the farm
runs while Flower watches). Same Redis server, same worker
concurrency, one run. Then, one job at a time on the idle farm, with a callback:
submit → the webhook received and verified (Standard Webhooks signature) by a local
receiver, p50 and p99.

    python bench/overhead.py --jobs 1000 --concurrency 2 [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import redis
import requests
from sqlalchemy import select
from standardwebhooks import Webhook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage.db import session_scope  # noqa: E402
from storage.models import Job  # noqa: E402
from storage.tenants import Credentials  # noqa: E402
from tests.farm import Farm, RedisServer, wait_until  # noqa: E402


@dataclass(frozen=True)
class Figures:
    name: str
    jobs: int
    seconds: float
    latencies_s: list[float]

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds

    def line(self) -> str:
        lat = sorted(self.latencies_s)
        p50 = statistics.median(lat) * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        return (
            f"{self.name:11} {self.jobs} jobs in {self.seconds:6.2f} s = {self.rate:6.1f} jobs/s;"
            f" submit→done p50 {p50:7.1f} ms, p99 {p99:7.1f} ms"
        )


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user and system) of a process, its live descendants and the children
    it has reaped (a pool's recycled processes)."""
    total = 0.0
    try:
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
    except psutil.NoSuchProcess:
        pass
    return total


def own_cpu_s() -> float:
    """CPU seconds of this process alone: the submitting clients, not the farm it started."""
    times = psutil.Process().cpu_times()
    return times.user + times.system


class CpuMeter:
    """CPU spent by each named process tree (and this process: the clients) over a block,
    per job: where the farm's time goes."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.spent: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {**{n: tree_cpu_s(pid) for n, pid in self.pids.items()}, "clients": own_cpu_s()}

    def __enter__(self) -> CpuMeter:
        self.before = self._now()
        return self

    def __exit__(self, *_: object) -> None:
        after = self._now()
        self.spent = {name: after[name] - self.before[name] for name in after}

    def line(self, name: str, jobs: int) -> str:
        parts = [f"{n} {s / jobs * 1000:.2f}" for n, s in self.spent.items()]
        total = sum(self.spent.values()) / jobs * 1000
        return f"{name:11} CPU ms per job: " + ", ".join(parts) + f"; total {total:.2f}"


def farm_run(farm: Farm, api_key: str, jobs: int, clients: int) -> Figures:
    local = threading.local()

    def submit(_: int) -> str:
        if not hasattr(local, "http"):
            local.http = requests.Session()
            local.http.headers["Authorization"] = f"Bearer {api_key}"
        response = local.http.post(farm.base_url + "/v1/jobs", json={"kind": "noop"}, timeout=60)
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    with ThreadPoolExecutor(clients) as pool:
        ids = set(pool.map(submit, range(jobs)))
    wait_until(lambda: all_done(farm.database_url, ids), 600, "the farm's jobs", every_s=0.2)
    with session_scope(farm.database_url) as db:
        rows = db.execute(select(Job.created_at, Job.finished_at).where(Job.id.in_(ids))).all()
    start = min(r.created_at for r in rows)
    end = max(r.finished_at for r in rows)
    latencies = [(r.finished_at - r.created_at).total_seconds() for r in rows]
    return Figures("farm", jobs, (end - start).total_seconds(), latencies)


class VerifyingReceiver:
    """A local webhook receiver that verifies each delivery and notes when it came."""

    def __init__(self, secret: str) -> None:
        self.arrived: dict[str, float] = {}
        self.changed = threading.Condition()
        receiver, hook = self, Webhook(secret)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                event = hook.verify(body, dict(self.headers.items()))
                self.send_response(204)
                self.end_headers()
                with receiver.changed:
                    receiver.arrived[event["data"]["id"]] = time.perf_counter()
                    receiver.changed.notify_all()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, job_id: str, timeout_s: float) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: job_id in self.arrived, timeout_s):
                raise AssertionError(f"no verified webhook for {job_id} in {timeout_s} s")
            return self.arrived[job_id]


def webhook_run(farm: Farm, creds: Credentials, jobs: int) -> list[float]:
    """Seconds from each submit to its verified webhook, one job at a time."""
    receiver = VerifyingReceiver(creds.webhook_secret)
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {creds.api_key}"
    latencies = []
    try:
        for _ in range(jobs):
            started = time.perf_counter()
            response = http.post(
                farm.base_url + "/v1/jobs",
                json={"kind": "noop", "callback_url": receiver.url},
                timeout=60,
            )
            assert response.status_code == 202, response.text
            latencies.append(receiver.wait_for(response.json()["id"], 30) - started)
    finally:
        receiver.server.shutdown()
    return latencies


def percentiles_ms(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"


def all_done(database_url: str, ids: set[str]) -> bool:
    # A session per poll: a long-lived one would hold SQLite's lock (see storage.db).
    with session_scope(database_url) as db:
        done = db.scalars(select(Job.id).where(Job.id.in_(ids), Job.state == "succeeded")).all()
    return len(done) == len(ids)


def bare_run(redis_url: str, jobs: int, clients: int) -> Figures:
    os.environ["BENCH_REDIS_URL"] = redis_url
    from bench.bare_app import DONE_KEY, app

    assert app.conf.broker_url == redis_url
    client = redis.Redis.from_url(redis_url)
    client.delete(DONE_KEY)
    with ThreadPoolExecutor(clients) as pool:
        list(
            pool.map(
                lambda _: app.send_task("bench.noop", args=[time.time()], queue="bare"), range(jobs)
            )
        )
    wait_until(lambda: client.llen(DONE_KEY) >= jobs, 600, "the bare tasks", every_s=0.2)
    pairs = [json.loads(x) for x in client.lrange(DONE_KEY, 0, -1)]
    start = min(p[0] for p in pairs)
    end = max(p[1] for p in pairs)
    return Figures("bare", jobs, end - start, [p[1] - p[0] for p in pairs])


def start_bare_worker(
    root: Path, redis_url: str, concurrency: int, events: bool
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BENCH_REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)}
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "bench.bare_app",
        "worker",
        "-Q",
        "bare",
        "-c",
        str(concurrency),
        "--without-gossip",
        "--without-mingle",
        "-l",
        "WARNING",
        "-n",
        f"bare-{int(events)}@%h",
        *(["--task-events"] if events else []),
    ]
    log = (root / "bare-worker.log").open("ab")
    return subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def bare_figures(
    root: Path,
    redis_url: str,
    args: argparse.Namespace,
    events: bool,
    redis_pid: int,
    meters: list[CpuMeter],
) -> Figures:
    worker = start_bare_worker(root, redis_url, args.concurrency, events)
    try:
        bare_run(redis_url, 50, args.clients)  # warm-up, and proof the worker is up
        with CpuMeter({"worker": worker.pid, "redis": redis_pid}) as meter:
            figures = bare_run(redis_url, args.jobs, args.clients)
        meters.append(meter)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    name = "bare+events" if events else "bare"
    return Figures(name, figures.jobs, figures.seconds, figures.latencies_s)


def main() -> None:
    # Turn SIGTERM (e.g. from `timeout`) into an exit, so the farm's processes are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes, both sides")
    parser.add_argument("--clients", type=int, default=8, help="concurrent submitters")
    parser.add_argument("--database-url", help="the farm's database (default: SQLite)")
    parser.add_argument("--webhook-jobs", type=int, default=200, help="one at a time")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="jobfarm-bench-") as tmp:
        root = Path(tmp)
        server = RedisServer(root / "redis")
        server.start()
        farm = Farm(root / "farm", server.url, args.database_url, log_level="WARNING")
        try:
            farm.migrate()
            farm.start_web()
            farm.start_worker("long", concurrency=args.concurrency)
            creds = farm.create_key("bench")
            farm_run(farm, creds.api_key, 50, args.clients)  # warm-up: imports, pools
            farm_pids = {name: p.pid for name, p in farm.processes.items()}
            assert server.process is not None
            with CpuMeter({**farm_pids, "redis": server.process.pid}) as farm_cpu:
                figures = [farm_run(farm, creds.api_key, args.jobs, args.clients)]
            farm.start_worker("short", concurrency=2)
            webhook_run(farm, creds, 5)  # warm-up of the webhook path
            webhooks = webhook_run(farm, creds, args.webhook_jobs)
            farm.stop_all()
            assert server.process is not None
            bare_cpu: list[CpuMeter] = []
            figures += [
                bare_figures(root, server.url, args, events, server.process.pid, bare_cpu)
                for events in (False, True)
            ]
        finally:
            farm.stop_all()
            server.stop()

    database = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"noop overhead: {args.jobs} jobs, worker concurrency {args.concurrency}, "
        f"{args.clients} submitters, {database}, embedded Redis"
    )
    for fig in figures:
        print(fig.line())
    farm_fig, bare, bare_events = figures
    print(farm_cpu.line("farm", args.jobs))
    for fig, meter in zip((bare, bare_events), bare_cpu, strict=True):
        print(meter.line(fig.name, args.jobs))
    print(f"ratio farm/bare throughput: {farm_fig.rate / bare.rate:.2f}")
    print(f"ratio farm/bare+events throughput: {farm_fig.rate / bare_events.rate:.2f}")
    print(
        f"one job at a time, submit → verified webhook ({len(webhooks)} jobs): "
        + percentiles_ms(webhooks)
    )


if __name__ == "__main__":
    main()
