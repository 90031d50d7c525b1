"""The pure parts of retries: which states a retry starts over, timestamps as stored,
the bulk request's bounds, the CLI's `--since`, the dead-letter item."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from api_stub.native.schemas import DeadLetter, RetryRequest
from cli.jobs import bulk_limit, since
from storage.jobs import JobView, as_recorded, snapshot
from storage.retries import MAX_BULK_RETRY, as_stored_utc
from storage.states import FINAL_STATES, JobState, can_move, can_retry

NOW = datetime(2026, 12, 2, 12, 0, 0)


@pytest.mark.parametrize(
    ("state", "retried"),
    [
        (JobState.QUEUED, False),
        (JobState.RUNNING, False),
        (JobState.SUCCEEDED, False),
        (JobState.FAILED, True),
        (JobState.CANCELED, True),
    ],
)
def test_only_failed_and_canceled_jobs_are_retried(state: JobState, retried: bool) -> None:
    assert can_retry(state) is retried


def test_a_retry_leaves_every_final_state_final_for_runs() -> None:
    assert all(not can_move(state, JobState.QUEUED) for state in FINAL_STATES)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (datetime(2026, 12, 2, 12, 0), datetime(2026, 12, 2, 12, 0)),
        (datetime(2026, 12, 2, 12, 0, tzinfo=UTC), datetime(2026, 12, 2, 12, 0)),
        (
            datetime(2026, 12, 2, 14, 0, tzinfo=timezone(timedelta(hours=2))),
            datetime(2026, 12, 2, 12, 0),
        ),
        (datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=2))), datetime.min),
        (datetime.max.replace(tzinfo=timezone(timedelta(hours=-2))), datetime.max),
    ],
)
def test_timestamps_are_compared_as_naive_utc(given: datetime, stored: datetime) -> None:
    assert as_stored_utc(given) == stored


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", NOW - timedelta(seconds=90)),
        ("30m", NOW - timedelta(minutes=30)),
        ("2h", NOW - timedelta(hours=2)),
        ("7d", NOW - timedelta(days=7)),
        ("2026-12-01T08:00:00", datetime(2026, 12, 1, 8, 0)),
        ("2026-12-01T08:00:00+01:00", datetime(2026, 12, 1, 7, 0)),
    ],
)
def test_since_reads_a_span_back_or_a_time(text: str, expected: datetime) -> None:
    assert since(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "2w", "-1h", "", "999999d", "99999999999d"])
def test_since_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        since(text, NOW)


@pytest.mark.parametrize("text", ["0", str(MAX_BULK_RETRY + 1)])
def test_the_cli_bounds_a_bulk_retry_as_the_api_does(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        bulk_limit(text)


@pytest.mark.parametrize(
    "body",
    [
        {"limit": 0},
        {"limit": MAX_BULK_RETRY + 1},
        {"state": "succeeded"},
        {"state": "running"},
        {"job_ids": ["job_1"]},
        {"created_after": "not a time"},
    ],
)
def test_a_bulk_retry_request_out_of_bounds_is_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RetryRequest.model_validate(body)


def test_a_bulk_retry_request_defaults_to_a_hundred_failed_jobs() -> None:
    request = RetryRequest.model_validate({})
    assert (request.state, request.limit, request.kind) == ("failed", 100, None)


def test_a_dead_letter_shows_attempts_and_the_last_error() -> None:
    job = JobView(
        **{
            **{name: None for name in JobView.__dataclass_fields__},
            "id": "job_1",
            "tenant_id": "ten_1",
            "kind": "noop",
            "state": JobState.FAILED,
            "attempts": 5,
            "max_attempts": 5,
            "error_code": "retryable_error",
            "error_message": "gave up after 5 attempts",
            "created_at": NOW,
            "finished_at": NOW + timedelta(seconds=3),
        }
    )

    shown = DeadLetter.of(job).model_dump(mode="json")

    assert shown == {
        "id": "job_1",
        "kind": "noop",
        "batch_id": None,
        "attempts": 5,
        "max_attempts": 5,
        "error": {"code": "retryable_error", "message": "gave up after 5 attempts"},
        "created_at": "2026-12-02T12:00:00.000Z",
        "finished_at": "2026-12-02T12:00:03.000Z",
    }


def test_a_job_event_tells_of_the_job_as_recorded_whatever_it_became() -> None:
    blank = {name: None for name in JobView.__dataclass_fields__}
    common = {"id": "job_1", "tenant_id": "ten_1", "kind": "noop", "created_at": NOW}
    output = {"name": "a.png", "size": 3, "blob_key": "jobs/job_1/r1/a.png"}
    ended = JobView(
        **{
            **blank,
            **common,
            "state": JobState.SUCCEEDED,
            "attempts": 1,
            "outputs": [output, {**output, "name": "b.png", "blob_key": "jobs/job_1/r1/b.png"}],
            "finished_at": NOW,
        }
    )
    taken = json.loads(json.dumps(snapshot(ended)))
    # Since then: b.png purged past its retention, and the row otherwise changed.
    now = replace(
        ended,
        state=JobState.RUNNING,
        outputs=[output],
        stage="elsewhere",
        attempts=7,
        dispatch_id="task_7",
        started_at=NOW + timedelta(days=1),
        finished_at=None,
    )

    told = as_recorded(now, taken)

    assert (told.state, told.attempts, told.finished_at) == (JobState.SUCCEEDED, 1, NOW)
    assert (told.stage, told.dispatch_id, told.started_at) == (None, None, None)
    assert told.outputs == [output]
    assert as_recorded(now, None) == now
