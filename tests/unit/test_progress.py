"""Progress reports and heartbeats of a run, without a worker: fake beats and senders."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from workers import progress
from workers.progress import Heartbeat, ProgressReporter, RunLost, sends_task_events
from workers.signals import _tell_the_task_whether_events_go_out

WAIT_S = 5.0


class CountedHeartbeat(Heartbeat):
    """A heartbeat whose beats are counted instead of written; `held` says what the
    database would answer."""

    def __init__(self, interval_s: float, beats_wanted: int = 1, held: bool = True) -> None:
        super().__init__("sqlite://", "job-1", "token-1", interval_s)
        self.beats, self.held = 0, held
        self.threads: set[int] = set()
        self._wanted, self.enough = beats_wanted, threading.Event()

    def beat(self) -> None:
        self.beats += 1
        self.threads.add(threading.get_ident())
        if not self.held:
            self.lost.set()
        if self.beats >= self._wanted:
            self.enough.set()


class Publisher:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def publish(self, channel: str, message: str) -> None:
        self.messages.append((channel, message))


def reporter(beat: Heartbeat, publisher: Publisher, events: list[str]) -> ProgressReporter:
    def send_event(type_: str, **_: Any) -> None:
        events.append(type_)

    return ProgressReporter("sqlite://", "job-1", "token-1", 3600, publisher, send_event, beat)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("enabled", "groups", "expected"),
    [
        (True, None, True),
        (True, {"worker", "task"}, True),
        (True, {"worker"}, False),
        (False, None, False),
    ],
)
def test_task_events_go_out_only_when_the_dispatcher_sends_the_task_group(
    enabled: bool, groups: set[str] | None, expected: bool
) -> None:
    dispatcher = SimpleNamespace(enabled=enabled, groups=groups)

    assert sends_task_events(dispatcher) is expected


def test_a_worker_without_an_event_dispatcher_sends_no_task_events() -> None:
    assert sends_task_events(None) is False


def test_the_received_request_carries_whether_its_task_events_go_out() -> None:
    consumer = SimpleNamespace(event_dispatcher=SimpleNamespace(enabled=True, groups={"worker"}))
    request = SimpleNamespace(request_dict={"id": "t-1"})

    _tell_the_task_whether_events_go_out(sender=consumer, request=request)

    assert request.request_dict[progress.TASK_EVENTS_FIELD] is False


def test_a_heartbeat_beats_every_interval_while_its_run_lasts() -> None:
    with CountedHeartbeat(interval_s=0.01, beats_wanted=3) as beat:
        assert beat.enough.wait(WAIT_S)

    assert beat.beats >= 3
    assert not beat.lost.is_set()


def test_a_heartbeat_stops_beating_once_its_run_ends() -> None:
    with CountedHeartbeat(interval_s=0.01) as ended:
        assert ended.enough.wait(WAIT_S)
    # The one thread beats for one run at a time: once the next run has had a beat,
    # no beat for the ended one is still under way.
    with CountedHeartbeat(interval_s=0.01) as following:
        assert following.enough.wait(WAIT_S)
    beats_at_end = ended.beats
    with CountedHeartbeat(interval_s=0.01, beats_wanted=5) as later:
        assert later.enough.wait(WAIT_S)

    assert ended.beats == beats_at_end


def test_consecutive_runs_share_the_process_heartbeat_thread() -> None:
    runs = [CountedHeartbeat(interval_s=0.01) for _ in range(3)]
    for run in runs:
        with run:
            assert run.enough.wait(WAIT_S)

    assert len(set().union(*(run.threads for run in runs))) == 1


def test_a_run_with_a_shorter_interval_than_the_last_one_is_beaten_on_time() -> None:
    with CountedHeartbeat(interval_s=3600) as slow:
        pass
    with CountedHeartbeat(interval_s=0.01, beats_wanted=2) as quick:
        assert quick.enough.wait(WAIT_S)

    assert slow.beats == 0


def test_a_lost_run_is_no_longer_beaten_for_and_its_next_report_raises() -> None:
    events: list[str] = []
    with CountedHeartbeat(interval_s=0.01, held=False) as beat:
        assert beat.enough.wait(WAIT_S)
        report = reporter(beat, Publisher(), events)
        with pytest.raises(RunLost):
            report(50, "working")

    assert beat.beats == 1


def test_the_first_and_the_final_report_are_published() -> None:
    publisher, events = Publisher(), list[str]()
    with CountedHeartbeat(interval_s=3600) as beat:
        report = reporter(beat, publisher, events)
        report(0, "starting")
        report(50, "working")
        report(100, "done")

    completions = [message for _, message in publisher.messages]
    assert len(completions) == 2
    assert '"completion": 100.0' in completions[-1]
    assert events == ["task-progress", "task-progress"]


def test_no_celery_event_is_sent_while_the_worker_sends_no_task_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress, "task_events_wanted", lambda: False)
    publisher, events = Publisher(), list[str]()
    with CountedHeartbeat(interval_s=3600) as beat:
        report = reporter(beat, publisher, events)
        report(100, "done")

    assert events == []
    assert len(publisher.messages) == 1


def test_outside_a_worker_task_events_are_wanted() -> None:
    assert progress.task_events_wanted() is True
