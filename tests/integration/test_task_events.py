"""Celery task events on the real farm: off until a monitor asks, as Flower does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery

from tests.farm import Farm, wait_until


class EventLog:
    """Every Celery event of the farm, captured by a receiver in a thread."""

    def __init__(self, app: Celery) -> None:
        self.events: list[dict[str, Any]] = []
        self._app = app
        self._receiver: Any = None
        self._thread = threading.Thread(target=self._capture, daemon=True)

    def _capture(self) -> None:
        with self._app.connection() as connection:
            self._receiver = self._app.events.Receiver(
                connection, handlers={"*": self.events.append}
            )
            self._receiver.capture(limit=None, timeout=None, wakeup=False)

    def start(self) -> None:
        self._thread.start()
        # A worker's heartbeat arriving shows the receiver is bound.
        self.wait_for("worker-heartbeat")

    def stop(self) -> None:
        if self._receiver is not None:
            self._receiver.should_stop = True
        self._thread.join(timeout=10)

    def count(self, kind: str) -> int:
        return sum(1 for event in self.events if event["type"] == kind)

    def wait_for(self, kind: str, after: int = 0) -> None:
        wait_until(lambda: self.count(kind) > after, 30, f"a {kind} event")


@pytest.fixture
def control(farm: Farm) -> Iterator[Any]:
    app = Celery(broker=farm.broker_url)
    yield app.control
    app.control.disable_events(reply=True, timeout=5)


@pytest.fixture
def event_log(farm: Farm) -> Iterator[EventLog]:
    log = EventLog(Celery(broker=farm.broker_url))
    log.start()
    yield log
    log.stop()


def test_workers_send_no_task_events_until_a_monitor_turns_them_on(
    farm: Farm, tenant, control: Any, event_log: EventLog
) -> None:
    control.disable_events(reply=True, timeout=5)
    tenant.api.wait_final(tenant.api.submit(params={"cpu_seconds": 0.5})["id"])
    # The child's events were published before the job's end was; a heartbeat sent
    # after that end gives any that were coming the time to arrive.
    event_log.wait_for("worker-heartbeat", after=event_log.count("worker-heartbeat"))
    assert event_log.count("task-progress") == event_log.count("task-succeeded") == 0

    control.enable_events(reply=True, timeout=5)
    tenant.api.wait_final(tenant.api.submit(params={"cpu_seconds": 0.5})["id"])

    event_log.wait_for("task-succeeded")
    event_log.wait_for("task-progress")
