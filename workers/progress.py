"""Progress of a running job: throttled DB writes, Redis pub/sub, Celery events, heartbeats."""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import redis
from celery import current_task

from storage import jobs
from storage.db import session_scope
from storage.models import iso, utcnow
from workers.channels import progress_channel

log = logging.getLogger(__name__)

PUBLISH_INTERVAL_S = 0.25
# Set on each task's request by the worker's main process (`workers.signals`): whether
# its task events go out now, which a pool process cannot see for itself.
TASK_EVENTS_FIELD = "jobfarm_task_events"
EventSender = Callable[..., None]


class RunLost(Exception):
    """This run no longer holds its job: it was canceled or taken over."""


def sends_task_events(dispatcher: Any) -> bool:
    """Whether a worker's event dispatcher sends task events: on from the start
    (`--task-events`) or since a monitor's `enable_events`."""
    if dispatcher is None or not dispatcher.enabled:
        return False
    return not dispatcher.groups or "task" in dispatcher.groups


def task_events_wanted() -> bool:
    """Whether the worker running the current task sends its task events; True when
    no worker says otherwise (a task called directly, a test)."""
    if not current_task:
        return True
    return bool(current_task.request.get(TASK_EVENTS_FIELD, True))


class Heartbeat:
    """While its block runs, tells the database every `interval_s` that this run is
    alive, and sets `lost` once the database says the run no longer holds its job.

    The beats come from one thread per process (`Beater`), not a thread per run.
    """

    def __init__(self, sql_url: str, job_id: str, token: str, interval_s: float) -> None:
        self._args = (sql_url, job_id, token)
        self.interval_s = interval_s
        self.lost = threading.Event()

    def beat(self) -> None:
        sql_url, job_id, token = self._args
        try:
            with session_scope(sql_url) as session:
                if not jobs.heartbeat(session, job_id, token):
                    self.lost.set()
        except Exception:  # a missed beat is retried on the next tick
            log.warning("heartbeat for %s failed", job_id, exc_info=True)

    def __enter__(self) -> Self:
        process_beater().watch(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process_beater().release(self)


class Beater:
    """A daemon thread that beats for the one run it watches, started on first use.

    A pool process runs one job at a time, so one thread serves all its runs and a
    job pays for no thread of its own. Nor does it wake the thread: without a run the
    thread sleeps one interval at a time, so a new run's first beat, one interval
    away, is never earlier than the thread's wake-up unless its interval is shorter.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._run: Heartbeat | None = None
        self._due = 0.0
        self._wakes_at = self._idle_s = math.inf
        self._thread: threading.Thread | None = None

    def watch(self, run: Heartbeat) -> None:
        with self._changed:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)
                self._thread.start()
            self._run, self._due = run, time.monotonic() + run.interval_s
            self._idle_s = run.interval_s
            if self._due < self._wakes_at:
                self._changed.notify()

    def release(self, run: Heartbeat) -> None:
        with self._changed:
            if self._run is run:
                self._run = None

    def _loop(self) -> None:
        while True:
            run = self._next_due()
            run.beat()
            if run.lost.is_set():
                self.release(run)

    def _next_due(self) -> Heartbeat:
        """Wait until the watched run's next beat is due; that run."""
        with self._changed:
            while (run := self._run) is None or time.monotonic() < self._due:
                now = time.monotonic()
                self._wakes_at = self._due if run is not None else now + self._idle_s
                self._changed.wait(None if self._wakes_at == math.inf else self._wakes_at - now)
            self._wakes_at = -math.inf  # beating: the next watch needs no wake-up
            self._due += run.interval_s
            return run


_beater: Beater | None = None
_beater_pid = 0


def process_beater() -> Beater:
    """This process's beater; a forked child makes its own (threads do not survive a fork)."""
    global _beater, _beater_pid
    if _beater is None or _beater_pid != os.getpid():
        _beater, _beater_pid = Beater(), os.getpid()
    return _beater


class ProgressReporter:
    """The `progress` callback handed to a job kind.

    Every report goes to Redis pub/sub at most every quarter second (the 100% one
    always), to Flower as a custom `task-progress` event (state `PROGRESS`) at the
    same pace while the worker sends task events, and to the database at most every
    `db_interval_s`. A report raises `RunLost` once the run has lost its job, so a
    canceled job stops at its next report.
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
        self.publisher, self.heartbeat = publisher, heartbeat
        # Without task events an event would still cost a connection and a publish.
        self.send_event = send_event if task_events_wanted() else None
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
        try:
            if self.send_event is not None:
                self.send_event("task-progress", completion=completion, stage=stage)
            if self.publisher is not None:
                self.publisher.publish(
                    progress_channel(self.job_id), self._message(completion, stage)
                )
        except Exception:  # progress is advisory; the job goes on without it
            log.debug("progress publish for %s failed", self.job_id, exc_info=True)

    def _message(self, completion: float, stage: str) -> str:
        return json.dumps(
            {
                "job_id": self.job_id,
                "completion": completion,
                "stage": stage,
                "timestamp": iso(utcnow()),
            }
        )
