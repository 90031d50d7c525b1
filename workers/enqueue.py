"""Putting messages on the broker. A failure here is reported, never raised: the
job is already safe in SQL, and the reconciler sends what did not go out."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from config.settings import get_settings
from storage import jobs
from storage.db import session_scope
from storage.jobs import Dispatch
from workers.app import app
from workers.backoff import broker_countdown

log = logging.getLogger(__name__)

BROKER_ERRORS = (KombuError, RedisError, ConnectionError, OSError)
RUN_JOB = "workers.runner.run_job"
DELIVER_WEBHOOK = "workers.delivery.deliver_webhook"


def _retry_policy() -> dict[str, float]:
    return {
        "max_retries": get_settings().enqueue_retries,
        "interval_start": 0.1,
        "interval_step": 0.2,
        "interval_max": 0.5,
    }


def _countdown(seconds: float) -> float | None:
    return broker_countdown(seconds, whole_seconds=get_settings().broker_is_amqp)


def send_job(dispatch: Dispatch, countdown: float = 0) -> bool:
    """Send the run message for one job; False if the broker could not take it."""
    limits = get_settings().time_limit(dispatch.kind)
    try:
        app.send_task(
            RUN_JOB,
            args=[dispatch.job_id],
            task_id=dispatch.dispatch_id,
            queue=dispatch.queue,
            countdown=_countdown(countdown),
            soft_time_limit=limits.soft_s,
            time_limit=limits.hard_s,
            retry=True,
            retry_policy=_retry_policy(),
        )
    except BROKER_ERRORS as exc:
        log.warning("job %s not enqueued (%s); the reconciler will send it", dispatch.job_id, exc)
        return False
    return True


def send_many(dispatches: list[Dispatch]) -> int:
    """Send many jobs' messages over one broker connection, for jobs stored as sent (a
    batch); returns how many went out. At the first failure the rest are marked unsent
    without trying: the broker is down, and the reconciler sends them when it is back."""
    sent = 0
    try:
        with app.producer_or_acquire() as producer:
            for dispatch in dispatches:
                limits = get_settings().time_limit(dispatch.kind)
                app.send_task(
                    RUN_JOB,
                    args=[dispatch.job_id],
                    task_id=dispatch.dispatch_id,
                    queue=dispatch.queue,
                    soft_time_limit=limits.soft_s,
                    time_limit=limits.hard_s,
                    producer=producer,
                )
                sent += 1
    except BROKER_ERRORS as exc:
        log.warning(
            "%d jobs not enqueued (%s); the reconciler will send them", len(dispatches) - sent, exc
        )
        with session_scope(get_settings().sql_url) as session:
            jobs.mark_many_unsent(session, dispatches[sent:])
    return sent


def send_jobs(dispatches: Iterable[Dispatch], countdown: float = 0) -> int:
    """Send each job's message and record which went out; returns how many did."""
    sent = [d for d in dispatches if send_job(d, countdown)]
    if sent:
        with session_scope(get_settings().sql_url) as session:
            for dispatch in sent:
                jobs.mark_enqueued(session, dispatch.job_id, dispatch.dispatch_id)
    return len(sent)


def send_delivery(delivery_id: str, attempts_so_far: int, countdown: float = 0) -> bool:
    """Send one webhook delivery's message; False if the broker could not take it."""
    try:
        app.send_task(
            DELIVER_WEBHOOK,
            args=[delivery_id, attempts_so_far],
            queue="webhooks",
            countdown=_countdown(countdown),
            retry=True,
            retry_policy=_retry_policy(),
        )
    except BROKER_ERRORS as exc:
        log.warning("delivery %s not enqueued (%s); the sweeper will send it", delivery_id, exc)
        return False
    return True


def send_deliveries(delivery_ids: Iterable[str]) -> None:
    for delivery_id in delivery_ids:
        send_delivery(delivery_id, 0)
