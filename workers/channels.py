"""Every Redis key and channel name the farm uses besides Celery's own."""

from __future__ import annotations

PROGRESS_PREFIX = "jobfarm:progress:"


def progress_channel(job_id: str) -> str:
    """Pub/sub channel carrying one job's progress messages."""
    return f"{PROGRESS_PREFIX}{job_id}"
