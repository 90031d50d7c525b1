"""Every Redis key and channel name the farm uses besides Celery's own."""

from __future__ import annotations

PROGRESS_PREFIX = "jobfarm:progress:"


def progress_channel(job_id: str) -> str:
    """Pub/sub channel carrying one job's progress messages."""
    return f"{PROGRESS_PREFIX}{job_id}"


RATE_LIMIT_PREFIX = "jobfarm:ratelimit:"


def rate_limit_key(caller: str) -> str:
    """Hash holding one caller's token bucket (`tokens`, `at_ms`)."""
    return f"{RATE_LIMIT_PREFIX}{caller}"
