"""The agent API's resources as JSON: a job, a batch with its counts, and timestamps
in the seed's form (ISO 8601 with an offset)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storage.batches import BatchView
from storage.jobs import JobView
from storage.states import JobState
from storage.urls import Link


def timestamp(moment: datetime | None) -> str | None:
    """A stored (naive UTC) time as `2026-04-01T08:00:00+00:00`."""
    return None if moment is None else moment.replace(tzinfo=UTC).isoformat(timespec="seconds")


def job_resource(job: JobView, merchant_id: int, link: Link) -> dict[str, Any]:
    failed = job.error_code and job.state is not JobState.SUCCEEDED
    error = {"code": job.error_code, "message": job.error_message} if failed else None
    return {
        "id": job.id,
        "merchant_id": merchant_id,
        "kind": job.kind,
        "queue": job.queue,
        "state": job.state.value,
        "completion": job.completion,
        "stage": job.stage,
        "attempts": job.attempts,
        "batch_id": job.batch_id,
        "error": error,
        "outputs": [
            {
                "name": o["name"],
                "size": o["size"],
                "sha256": o["sha256"],
                "url": link(o["blob_key"]),
            }
            for o in job.outputs
        ],
        "created_at": timestamp(job.created_at),
        "started_at": timestamp(job.started_at),
        "finished_at": timestamp(job.finished_at),
    }


def batch_resource(
    batch: BatchView, merchant_id: int, counts: dict[JobState, int] | None = None
) -> dict[str, Any]:
    """A batch; with `counts`, how many of its jobs are in each state."""
    body: dict[str, Any] = {
        "id": batch.id,
        "merchant_id": merchant_id,
        "total": batch.total,
        "finished": batch.finished,
        "succeeded": batch.succeeded,
        "completed": batch.completed_at is not None,
        "created_at": timestamp(batch.created_at),
        "completed_at": timestamp(batch.completed_at),
    }
    if counts is not None:
        body["counts"] = {state.value: counts[state] for state in JobState}
    return body
