"""Progress of a running job: throttled DB writes, Redis pub/sub, Celery events, heartbeats."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType

import redis

from storage import jobs
from storage.db import session_scope
from storage.models import iso, utcnow
from workers.channels import progress_channel

log = logging.getLogger(__name__)

PUBLISH_INTERVAL_S = 0.25
EventSender = Callable[..., None]


class RunLost(Exception):
    """This run no longer holds its job: it was canceled or taken over."""


class Heartbeat:
    """A thread that tells the database this run is alive, until stopped."""

    def __init__(self, sql_url: str, job_id: str, token: str, interval_s: float) -> None:
        self._args = (sql_url, job_id, token)
        self._interval_s = interval_s
        self._stop = threading.Event()
        self.lost = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job_id}", daemon=True)

    def _beat(self) -> None:
        sql_url, job_id, token = self._args
        while not self._stop.wait(self._interval_s):
            try:
                with session_scope(sql_url) as session:
                    if not jobs.heartbeat(session, job_id, token):
                        self.lost.set()
                        return
            except Exception:  # a missed beat is retried on the next tick
                log.warning("heartbeat for %s failed", job_id, exc_info=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class ProgressReporter:
    """The `progress` callback handed to a job kind.

    Every report goes to Redis pub/sub and to Flower (a custom `PROGRESS` state)
    at most every quarter second, and to the database at most every
    `db_interval_s`. A report raises `RunLost` once the run has lost its job, so
    a canceled job stops at its next report.
    """

    def __init__(
        self,
        sql_url: str,
        job_id: str,
        token: str,
        db_interval_s: float,
        publisher: redis.Redis | None,
        send_event: EventSender,
        heartbeat: Heartbeat,
    ) -> None:
        self.sql_url, self.job_id, self.token = sql_url, job_id, token
        self.db_interval_s = db_interval_s
        self.publisher, self.send_event, self.heartbeat = publisher, send_event, heartbeat
        # The claim has just written the job's row; the first report need not.
        self._last_db, self._last_publish = time.monotonic(), 0.0

    def __call__(self, completion: float, stage: str) -> None:
        if self.heartbeat.lost.is_set():
            raise RunLost(self.job_id)
        completion = round(min(100.0, max(0.0, completion)), 1)
        now = time.monotonic()
        if now - self._last_publish >= PUBLISH_INTERVAL_S or completion >= 100:
            self._last_publish = now
            self._publish(completion, stage)
        if now - self._last_db >= self.db_interval_s:
            self._last_db = now
            with session_scope(self.sql_url) as session:
                held = jobs.record_progress(session, self.job_id, self.token, completion, stage)
            if not held:
                raise RunLost(self.job_id)

    def _publish(self, completion: float, stage: str) -> None:
        message = {
            "job_id": self.job_id,
            "completion": completion,
            "stage": stage,
            "timestamp": iso(utcnow()),
        }
        try:
            self.send_event("task-progress", completion=completion, stage=stage)
            if self.publisher is not None:
                self.publisher.publish(progress_channel(self.job_id), json.dumps(message))
        except Exception:  # progress is advisory; the job goes on without it
            log.debug("progress publish for %s failed", self.job_id, exc_info=True)
