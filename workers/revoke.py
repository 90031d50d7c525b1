"""Stopping a canceled job's run on whichever worker holds it."""

from __future__ import annotations

import signal

from storage.jobs import JobView
from workers.app import app


def stop_running(job: JobView) -> None:
    """Revoke the job's message everywhere; the worker running it kills that process.

    SIGKILL, not SIGTERM: a job kind deep in native code (a mesh library, an
    encoder) may never return to Python to see a softer signal.
    """
    if job.dispatch_id:
        app.control.revoke(job.dispatch_id, terminate=True, signal=signal.SIGKILL)
