"""Webhook delivery: one signed POST per attempt, every attempt logged, retries scheduled.

A webhook never fails its job: delivery runs on its own queue after the job has
ended, and its outcome lives only in the delivery log. Each attempt's body is built
when the attempt is made, from the job or batch as it is then, in its dialect's
shape, with download URLs signed for that attempt: a retry hours later carries links
that still work. The webhook-id stays the delivery's across attempts. An attempt to an
endpoint also keeps the endpoint's failure record, which may disable it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import requests
from sqlalchemy.orm import Session

from api_stub.shapes import shapes_for
from config.settings import Settings, get_settings
from storage import batches, jobs, webhook_endpoints, webhooks
from storage.batches import BatchView
from storage.db import session_scope
from storage.jobs import JobView
from storage.urls import Link, download_links
from storage.webhooks import OutgoingWebhook
from workers.app import app
from workers.backoff import jittered, webhook_retry_delay
from workers.endpoint_slots import endpoint_slot
from workers.enqueue import DELIVER_WEBHOOK, send_delivery
from workers.http_guard import ForbiddenAddress, client_session
from workers.signature import webhook_headers

log = logging.getLogger(__name__)

LEASE_MARGIN_S = 30.0
# Deliveries waiting for one endpoint's slots come back spread out, not all at once.
BUSY_JITTER = 0.5


@app.task(name=DELIVER_WEBHOOK)
def deliver_webhook(delivery_id: str, attempts_so_far: int) -> str:
    """Make the next attempt of a delivery, unless another sender already made it; if
    its endpoint's slots are all taken, put the delivery back on the queue for later."""
    settings = get_settings()
    with session_scope(settings.sql_url) as session:
        url = webhooks.pending_url(session, delivery_id, attempts_so_far)
    if url is None:
        return "skipped"
    lease_s = settings.webhook_timeout_s + LEASE_MARGIN_S
    with endpoint_slot(url, settings.webhook_endpoint_concurrency, lease_s) as held:
        if held:
            return attempt(delivery_id, attempts_so_far, settings)
    return wait_for_a_slot(delivery_id, attempts_so_far, settings)


def wait_for_a_slot(delivery_id: str, attempts_so_far: int, settings: Settings) -> str:
    """Send the delivery again shortly, its next attempt postponed past then so the
    sweeper does not send it a second time meanwhile."""
    countdown = jittered(settings.webhook_endpoint_busy_retry_s, BUSY_JITTER)
    with session_scope(settings.sql_url) as session:
        webhooks.postpone(session, delivery_id, attempts_so_far, countdown + LEASE_MARGIN_S)
    send_delivery(delivery_id, attempts_so_far, countdown=countdown)
    return "busy"


def attempt(delivery_id: str, attempts_so_far: int, settings: Settings) -> str:
    """Take, make and record attempt `attempts_so_far + 1`, scheduling its retry."""
    lease_s = settings.webhook_timeout_s + LEASE_MARGIN_S
    with session_scope(settings.sql_url) as session:
        outgoing = webhooks.take_attempt(session, delivery_id, attempts_so_far, lease_s)
        subject = event_subject(session, outgoing) if outgoing else None
    if outgoing is None or subject is None:
        return "skipped"
    payload = encode(event_body(subject, download_links(settings)))
    sent = post(outgoing, payload, settings)
    retry_in = (
        webhook_retry_delay(
            outgoing.attempt, settings.webhook_retry_schedule_s, settings.webhook_jitter
        )
        if sent.retryable and not gone(outgoing, sent)
        else None
    )
    with session_scope(settings.sql_url) as session:
        if outgoing.endpoint_id:
            # The endpoint before the delivery, as disabling one takes them: two senders
            # of one endpoint then wait for each other instead of deadlocking.
            webhook_endpoints.lock(session, outgoing.endpoint_id)
        status = webhooks.record_attempt(
            session,
            delivery_id,
            outgoing.attempt,
            sent.status_code,
            sent.error,
            sent.duration_ms,
            retry_in,
            payload,
        )
        if outgoing.endpoint_id:
            webhook_endpoints.note_attempt(
                session,
                outgoing.endpoint_id,
                sent.status_code,
                sent.ok,
                settings.webhook_disable_after_s,
            )
    if (
        status == "pending"
        and retry_in is not None
        and retry_in <= settings.webhook_countdown_max_s
    ):
        send_delivery(delivery_id, outgoing.attempt, countdown=retry_in)
    log.info(
        "delivery %s attempt %d: %s", delivery_id, outgoing.attempt, sent.status_code or sent.error
    )
    return status


def gone(outgoing: OutgoingWebhook, sent: Sent) -> bool:
    """An endpoint answering 410 Gone asks for nothing more: its delivery is not
    retried (the endpoint is disabled). A callback URL is retried as any failure."""
    return outgoing.endpoint_id is not None and sent.status_code == webhook_endpoints.GONE


def event_subject(session: Session, outgoing: OutgoingWebhook) -> JobView | BatchView:
    """The job a delivery is about as its event recorded it, or its batch as it is now."""
    if outgoing.job_id:
        job = jobs.get_job(session, outgoing.tenant_id, outgoing.job_id)
        return jobs.as_recorded(job, outgoing.snapshot)
    assert outgoing.batch_id, f"delivery {outgoing.delivery_id} names no job and no batch"
    return batches.get_batch(session, outgoing.tenant_id, outgoing.batch_id)


def event_body(subject: JobView | BatchView, link: Link) -> dict[str, Any]:
    """An attempt's body, in the shape of the dialect the job or batch came through."""
    shapes = shapes_for(subject.dialect)
    if isinstance(subject, JobView):
        return shapes.job_event(subject, link)
    return shapes.batch_event(subject)


def encode(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Sent:
    """The outcome of one attempt. A refused address is not retried: it will not change."""

    status_code: int | None
    error: str | None
    duration_ms: int
    retryable: bool = True

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(outgoing: OutgoingWebhook, payload: str, settings: Settings) -> Sent:
    """POST one attempt's `payload`, signed; the attempt, connecting and reading the
    answer included, is over within `webhook_timeout_s`, however slowly the receiver
    answers."""
    headers = webhook_headers(outgoing.secrets, outgoing.msg_id, int(time.time()), payload)
    headers["user-agent"] = "jobfarm-webhooks/1"
    started = time.monotonic()

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        with client_session(settings.ssrf_guard_enabled) as http:
            response = http.post(
                outgoing.url,
                data=payload.encode(),
                headers=headers,
                timeout=settings.webhook_timeout_s,
                allow_redirects=False,
            )
    except ForbiddenAddress as exc:
        return Sent(None, f"refused: {exc}", elapsed_ms(), retryable=False)
    except requests.RequestException as exc:
        return Sent(None, f"{type(exc).__name__}: {str(exc)[:300]}", elapsed_ms())
    ok = 200 <= response.status_code < 300
    return Sent(response.status_code, None if ok else f"HTTP {response.status_code}", elapsed_ms())
