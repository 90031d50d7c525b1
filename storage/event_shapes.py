"""The body of a finished job's webhook, in the dialect the job came through.

Each dialect's clients parse their webhooks as they parse that dialect's
responses, so a fractal3d job reports `transaction_id`, `status` and `url` as
its result endpoint does, while native jobs get the farm's own event envelope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from storage.models import iso, utcnow
from storage.states import JobState

if TYPE_CHECKING:
    from storage.jobs import JobView
    from storage.models import Batch

Link = Callable[[str], str]
"""Turns a blob key into a URL the receiver can download it from."""

FRACTAL3D_STATUS = {
    JobState.QUEUED: "Pending",
    JobState.RUNNING: "Pending",
    JobState.SUCCEEDED: "Succeeded",
    JobState.FAILED: "Failed",
    JobState.CANCELED: "Failed",
}


def native_event(job: JobView, link: Link | None) -> dict[str, Any]:
    """The farm's own envelope: the event type and a summary of the job."""
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


def fractal3d_event(job: JobView, link: Link | None) -> dict[str, Any]:
    """What fractal3d's result_file endpoints answer, plus the failure reason."""
    body: dict[str, Any] = {
        "transaction_id": job.id,
        "status": FRACTAL3D_STATUS[job.state],
        "url": first_output_url(job, link),
    }
    if job.error_message:
        body["message"] = job.error_message
    return body


def first_output_url(job: JobView, link: Link | None) -> str | None:
    """The download URL of a succeeded job's first output, else None."""
    if job.state is not JobState.SUCCEEDED or not job.outputs or link is None:
        return None
    return link(job.outputs[0]["blob_key"])


# smartmanu's error codes for a failed design: its own 5003 for an infeasible one;
# otherwise the HTTP-like codes of its table (400: the request's fault, 500: ours).
SMARTMANU_CODES = {"infeasible_design": 5003, "invalid_input": 400, "unsupported_format": 400}


def smartmanu_design(job: JobView, link: Link | None) -> dict[str, Any]:
    """A finished design as smartmanu's `data`: id, preview and print URLs, readiness,
    materials and warnings."""
    result = job.result or {}
    urls = {o["name"]: link(o["blob_key"]) for o in job.outputs} if link else {}
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


def smartmanu_event(job: JobView, link: Link | None) -> dict[str, Any]:
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


SHAPES: dict[str, Callable[[JobView, Link | None], dict[str, Any]]] = {
    "native": native_event,
    "fractal3d": fractal3d_event,
    "smartmanu": smartmanu_event,
}


def job_event_payload(job: JobView, link: Link | None = None) -> dict[str, Any]:
    """The webhook body for a finished job; unknown dialects get the native shape."""
    return SHAPES.get(job.dialect, native_event)(job, link)


def batch_event_payload(batch: Batch) -> dict[str, Any]:
    """The webhook body for a batch whose last task just ended: the counts."""
    return {
        "event": "batch.completed",
        "batch_id": batch.id,
        "total": batch.total,
        "succeeded": batch.succeeded,
        "failed": batch.finished - batch.succeeded,
        "timestamp": iso(utcnow()),
    }
