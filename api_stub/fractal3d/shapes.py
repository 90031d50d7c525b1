"""fractal3d's status words and webhook body, as its result_file endpoints answer.

Plain functions of plain data, with no web framework: the routes and the workers
that send webhooks both import them.
"""

from __future__ import annotations

from typing import Any

from storage.jobs import JobView
from storage.states import JobState
from storage.urls import Link

FRACTAL3D_STATUS = {
    JobState.QUEUED: "Pending",
    JobState.RUNNING: "Pending",
    JobState.SUCCEEDED: "Succeeded",
    JobState.FAILED: "Failed",
    JobState.CANCELED: "Failed",
}


def job_event(job: JobView, link: Link) -> dict[str, Any]:
    """What fractal3d's result_file endpoints answer, plus the failure reason."""
    body: dict[str, Any] = {
        "transaction_id": job.id,
        "status": FRACTAL3D_STATUS[job.state],
        "url": first_output_url(job, link),
    }
    if job.error_message:
        body["message"] = job.error_message
    return body


def first_output_url(job: JobView, link: Link) -> str | None:
    """The download URL of a succeeded job's first output, else None."""
    if job.state is not JobState.SUCCEEDED or not job.outputs:
        return None
    return link(job.outputs[0]["blob_key"])
