"""The baseline: a bare Celery app with a no-op task, configured like the farm's
(late acks, prefetch 1, no result backend). Each run records when it finished."""

from __future__ import annotations

import json
import os
import time

import redis
from celery import Celery

DONE_KEY = "bench:bare:done"

# No default on purpose: the baseline must never fall back to some other server.
app = Celery("bare", broker=os.environ["BENCH_REDIS_URL"])
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
)
_client: redis.Redis | None = None


@app.task(name="bench.noop")
def noop(sent_at: float) -> None:
    """Do nothing but note the finish time, as the farm notes `finished_at` in SQL."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(app.conf.broker_url)
    _client.rpush(DONE_KEY, json.dumps([sent_at, time.time()]))
