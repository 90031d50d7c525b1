"""smartmanu's design data, error body and callbacks (per task, then batch.completed).

Plain functions of plain data, with no web framework: the routes and the workers
that send webhooks both import them.
"""

from __future__ import annotations

from typing import Any

from storage.batches import BatchView
from storage.jobs import JobView
from storage.models import iso, utcnow
from storage.states import JobState
from storage.urls import Link

# smartmanu's error codes for a failed design: its own 5003 for an infeasible one;
# otherwise the HTTP-like codes of its table (400: the request's fault, 500: ours).
SMARTMANU_CODES = {"infeasible_design": 5003, "invalid_input": 400, "unsupported_format": 400}


def smartmanu_design(job: JobView, link: Link) -> dict[str, Any]:
    """A finished design as smartmanu's `data`: id, preview and print URLs, readiness,
    materials and warnings."""
    result = job.result or {}
    urls = {o["name"]: link(o["blob_key"]) for o in job.outputs}
    return {
        "design_id": job.id,
        "preview_url": urls.get("preview.png"),
        "print_url": urls.get("print.png"),
        "production_ready": result.get("production_ready"),
        "materials": result.get("materials", []),
        "warnings": result.get("warnings", []),
    }


def smartmanu_error(job: JobView) -> dict[str, Any]:
    """A failed design as smartmanu's error body: its code, message and, when
    infeasible, the reasons."""
    code = SMARTMANU_CODES.get(job.error_code or "", 500)
    reasons = (job.result or {}).get("reasons", [])
    return {
        "status": "error",
        "code": code,
        "message": job.error_message,
        "data": {"design_id": job.id, "reasons": reasons},
    }


def job_event(job: JobView, link: Link) -> dict[str, Any]:
    """One task's callback: which batch and task, then the design or the error."""
    head = {
        "event": f"task.{job.state.value}",
        "batch_id": job.batch_id,
        "task_id": job.client_ref,
        "timestamp": iso(utcnow()),
    }
    if job.state is JobState.SUCCEEDED:
        return {**head, "status": "success", "data": smartmanu_design(job, link)}
    return {**head, **smartmanu_error(job)}


def batch_event(batch: BatchView) -> dict[str, Any]:
    """The callback of a batch whose last task ended: the counts."""
    return {
        "event": "batch.completed",
        "batch_id": batch.id,
        "total": batch.total,
        "succeeded": batch.succeeded,
        "failed": batch.finished - batch.succeeded,
        "timestamp": iso(utcnow()),
    }
