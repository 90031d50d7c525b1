"""Retry schedules: pure functions from an attempt number to a delay."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

Random = Callable[[], float]


def jittered(delay_s: float, jitter: float, rand: Random = random.random) -> float:
    """`delay_s` spread uniformly by ±`jitter` (a fraction), so retries don't stampede."""
    return max(0.0, delay_s * (1 + jitter * (2 * rand() - 1)))


def webhook_retry_delay(
    failed_attempts: int, schedule_s: Sequence[float], jitter: float, rand: Random = random.random
) -> float | None:
    """Seconds before the attempt after `failed_attempts` failures; None past the schedule."""
    if failed_attempts < 1 or failed_attempts > len(schedule_s):
        return None
    return jittered(schedule_s[failed_attempts - 1], jitter, rand)


def job_retry_delay(
    attempt: int, base_s: float, max_s: float, rand: Random = random.random
) -> float:
    """Exponential backoff with full jitter for a job's `attempt`-th failure."""
    ceiling = min(max_s, base_s * 2 ** max(0, attempt - 1))
    return ceiling * rand()


def broker_countdown(seconds: float, whole_seconds: bool) -> float | None:
    """The countdown to publish for a delay of `seconds`: None for none. RabbitMQ's
    quorum queues carry countdowns by native delayed delivery, in whole seconds, where
    Celery refuses anything under one (it truncates, then raises on 0): a shorter delay
    waits a second there."""
    if seconds <= 0:
        return None
    return max(seconds, 1.0) if whole_seconds else seconds
