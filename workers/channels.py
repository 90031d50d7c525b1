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


ENDPOINT_SLOTS_PREFIX = "jobfarm:endpoint-slots:"


def endpoint_slots_key(origin: str) -> str:
    """Sorted set of the delivery attempts holding one endpoint's slots (member: the
    attempt's token; score: when its lease ends, in Redis-clock milliseconds)."""
    return f"{ENDPOINT_SLOTS_PREFIX}{origin}"
