"""The farm's own webhook envelope: `{"type", "timestamp", "data"}`.

Plain functions of plain data, with no web framework, so that the workers that
send webhooks import them as the API does. Also the shape of every dialect that
has no `shapes` module of its own.
"""

from __future__ import annotations

from typing import Any

from storage.batches import BatchView
from storage.jobs import JobView
from storage.models import iso, utcnow
from storage.urls import Link


def job_event(job: JobView, link: Link) -> dict[str, Any]:
    """The event type and a summary of the job (outputs by name and size, no URLs)."""
    return {
        "type": f"job.{job.state.value}",
        "timestamp": iso(utcnow()),
        "data": {
            "id": job.id,
            "kind": job.kind,
            "state": job.state.value,
            "attempts": job.attempts,
            "result": job.result,
            "outputs": [{"name": o["name"], "size": o["size"]} for o in job.outputs],
            "error": {"code": job.error_code, "message": job.error_message}
            if job.error_code
            else None,
            "batch_id": job.batch_id,
            "created_at": iso(job.created_at),
            "finished_at": iso(job.finished_at),
        },
    }


def batch_event(batch: BatchView) -> dict[str, Any]:
    """A completed batch: its counts."""
    return {
        "type": "batch.completed",
        "timestamp": iso(utcnow()),
        "data": {
            "id": batch.id,
            "total": batch.total,
            "succeeded": batch.succeeded,
            "failed": batch.finished - batch.succeeded,
            "created_at": iso(batch.created_at),
            "completed_at": iso(batch.completed_at),
        },
    }
