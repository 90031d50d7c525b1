"""Factories of plain data for the tests: `job_view(**overrides)`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.jobs import JobView
from storage.states import JobState


def job_view(**overrides: Any) -> JobView:
    """A finished native `noop` job; every field can be overridden."""
    fields: dict[str, Any] = {
        "id": "job_1",
        "tenant_id": "ten_1",
        "kind": "noop",
        "queue": "cad",
        "state": JobState.SUCCEEDED,
        "params": {},
        "input_file_id": None,
        "input_url": None,
        "callback_url": "https://example.com/hook",
        "batch_id": None,
        "dispatch_id": "d",
        "dialect": "native",
        "client_ref": None,
        "priority": 5,
        "released_at": None,
        "attempts": 1,
        "max_attempts": 5,
        "completion": 100.0,
        "stage": None,
        "result": {},
        "outputs": [],
        "error_code": None,
        "error_message": None,
        "worker": None,
        "worker_pid": None,
        "created_at": datetime(2026, 1, 1),
        "started_at": None,
        "finished_at": datetime(2026, 1, 1),
    }
    return JobView(**(fields | overrides))
