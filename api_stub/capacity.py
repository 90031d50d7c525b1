"""The farm's capacity as one tenant sees it, for every dialect that shows it (the
agent API's `capacity/`, smartmanu's `GET /v2/capacity`).

Per job queue: jobs waiting and running (the farm's), workers consuming it, jobs
finished per minute over the last `capacity_window_s`, and the tenant's own
unfinished jobs there with the seconds they should take at that pace.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from config.celery import LONG_QUEUES
from config.settings import Settings
from storage.capacity import QueueLoad, queue_loads
from storage.db import read_scope
from storage.models import utcnow
from workers.census import workers_by_queue


@dataclass(frozen=True)
class QueueCapacity:
    queue: str
    waiting: int
    running: int
    workers_online: int
    throughput_per_min: float
    backlog: int
    eta_s: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def throughput_per_min(finished: int, window_s: float) -> float:
    """Jobs finished per minute over a window of `window_s` seconds."""
    return round(finished * 60.0 / window_s, 3)


def eta_s(backlog: int, per_min: float) -> float | None:
    """Seconds to get through `backlog` jobs at `per_min`: 0 with nothing to do, None
    when nothing finished lately (no pace to go by)."""
    if backlog == 0:
        return 0.0
    if per_min <= 0:
        return None
    return round(backlog * 60.0 / per_min, 1)


def queue_capacity(load: QueueLoad, workers: int, window_s: float) -> QueueCapacity:
    pace = throughput_per_min(load.finished, window_s)
    return QueueCapacity(
        queue=load.queue,
        waiting=load.waiting,
        running=load.running,
        workers_online=workers,
        throughput_per_min=pace,
        backlog=load.backlog,
        eta_s=eta_s(load.backlog, pace),
    )


def capacity_for(tenant_id: str, settings: Settings) -> list[QueueCapacity]:
    """Every job queue's capacity for `tenant_id`: one short read and, at most every few
    seconds, one bounded broadcast to the workers. Blocking: run it in a thread."""
    since = utcnow() - timedelta(seconds=settings.capacity_window_s)
    with read_scope(settings.sql_url) as session:
        loads = queue_loads(session, tenant_id, LONG_QUEUES, since)
    workers = workers_by_queue()
    return [
        queue_capacity(load, workers.get(load.queue, 0), settings.capacity_window_s)
        for load in loads
    ]
