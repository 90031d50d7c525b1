"""The chaos driver: faults drawn from a seeded generator, one at a time, each injected,
held for a moment and healed, and every one logged as a JSON line, so that a failing run
can be read back and replayed with its seed.

A fault never waits for the farm to recover from the one before: the farm recovers
while the next ones come. Healing means putting the part back (a process restarted,
the disk emptied, the receiver listening), not waiting for its jobs.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import psutil

from tests.chaos.receiver import FlappingReceiver
from tests.farm import Farm, RedisServer
from tests.hosts.postgres import PrivateCluster

WORKERS = {"worker-long": ("long", 2), "worker-short": ("short", 2)}
ALL_WORKERS = (*WORKERS, "worker-maintenance")
# How often each fault is drawn, relative to the others. The cheap and common ones (a
# process of a worker's pool dies, a receiver blinks) dominate, as they do in production;
# losing Redis or PostgreSQL whole comes a few times a run.
WEIGHTS = {
    "kill_pool_process": 30,
    "receiver_down": 12,
    "receiver_503": 8,
    "kill_api": 10,
    "kill_beat": 8,
    "disk_full": 10,
    "kill_worker": 8,
    "restart_redis": 5,
    "restart_postgres": 5,
}
# The soak's faults: none of them kills a farm process, so that each lives the whole run
# and its memory can be followed; the services under it still come and go.
GENTLE_WEIGHTS = {
    name: weight
    for name, weight in WEIGHTS.items()
    if name in ("receiver_down", "receiver_503", "disk_full", "restart_redis", "restart_postgres")
}


@dataclass
class FaultLog:
    """Every fault injected: when (seconds from the start), what, and on what."""

    path: Path
    started: float = field(default_factory=time.monotonic)
    counts: Counter[str] = field(default_factory=Counter)
    _file: TextIO | None = None

    def record(self, kind: str, **details: Any) -> None:
        if self._file is None:
            self._file = self.path.open("a")
        entry = {"t": round(time.monotonic() - self.started, 3), "fault": kind, **details}
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()
        self.counts[kind] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class Chaos:
    def __init__(
        self,
        farm: Farm,
        cluster: PrivateCluster,
        redis_server: RedisServer,
        receiver: FlappingReceiver,
        blob_dir: Path,
        rng: random.Random,
        log: FaultLog,
        weights: dict[str, int] = WEIGHTS,
        gap_s: tuple[float, float] = (0.1, 0.6),
    ) -> None:
        self.farm = farm
        self.cluster = cluster
        self.redis_server = redis_server
        self.receiver = receiver
        self.blob_dir = blob_dir
        self.rng = rng
        self.log = log
        self.weights = weights
        self.gap_s = gap_s
        self.faults: dict[str, Callable[[], dict[str, Any]]] = {
            name: getattr(self, name) for name in weights
        }

    def run(self, done: Callable[[], bool], at_least: int) -> None:
        """Inject faults until `done()` and at least `at_least` of them."""
        names, weights = list(self.weights), list(self.weights.values())
        while not (done() and self.log.total >= at_least):
            kind = self.rng.choices(names, weights)[0]
            details = self.faults[kind]()
            self.log.record(kind, **details)
            time.sleep(self.rng.uniform(*self.gap_s))

    def hold(self) -> float:
        seconds = round(self.rng.uniform(0.3, 2.5), 2)
        time.sleep(seconds)
        return seconds

    def kill_pool_process(self) -> dict[str, Any]:
        """SIGKILL one process of a worker's pool (the job it ran is lost with it)."""
        name = self.rng.choice(ALL_WORKERS)
        process = self.farm.processes.get(name)
        children = psutil.Process(process.pid).children() if process else []
        if not children:
            return {"worker": name, "pid": None}
        victim = self.rng.choice(children)
        with contextlib.suppress(psutil.NoSuchProcess):
            victim.send_signal(signal.SIGKILL)
        return {"worker": name, "pid": victim.pid}

    def kill_worker(self) -> dict[str, Any]:
        """SIGKILL a worker whole (its main process and pool) and start it again."""
        name = self.rng.choice(list(WORKERS))
        role, concurrency = WORKERS[name]
        self.farm.stop(name, signal.SIGKILL)
        self.farm.start_worker(role, concurrency=concurrency, name=name)
        return {"worker": name}

    def kill_api(self) -> dict[str, Any]:
        self.farm.stop("web", signal.SIGKILL)
        self.farm.start_web()
        return {}

    def kill_beat(self) -> dict[str, Any]:
        self.farm.stop("beat", signal.SIGKILL)
        self.farm.start("beat", "beat")
        return {}

    def restart_redis(self) -> dict[str, Any]:
        """Redis dies and comes back empty: every queued message, slot and lock gone."""
        process = self.redis_server.process
        assert process is not None
        process.kill()
        process.wait(timeout=10)
        self.redis_server.start()
        return {}

    def restart_postgres(self) -> dict[str, Any]:
        """PostgreSQL crashes (immediate stop: open transactions lost) and restarts."""
        self.cluster.restart()
        return {}

    def disk_full(self) -> dict[str, Any]:
        """The blob disk fills up for a moment, then is freed."""
        filler = self.blob_dir / ".chaos-filler"
        free = os.statvfs(self.blob_dir)
        size = free.f_bavail * free.f_frsize
        # An error here is the disk full before all of it was taken: as full as it gets.
        with filler.open("wb") as out, contextlib.suppress(OSError):
            os.posix_fallocate(out.fileno(), 0, size)
        try:
            return {"bytes": size, "held_s": self.hold()}
        finally:
            filler.unlink()

    def receiver_down(self) -> dict[str, Any]:
        self.receiver.down()
        try:
            return {"held_s": self.hold()}
        finally:
            self.receiver.up()

    def receiver_503(self) -> dict[str, Any]:
        self.receiver.failing = True
        try:
            return {"held_s": self.hold()}
        finally:
            self.receiver.failing = False
