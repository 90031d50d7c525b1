"""Webhook deliveries: an outbox written in the job's own transaction, and its attempts.

A delivery is created in the same transaction that finishes its job, so a job
never ends without its webhook on record. It names its job or batch and its event,
not a body: the sender builds the body at each attempt from the current rows, so a
retry hours later carries download URLs signed for that attempt. A job's delivery
keeps a snapshot of the job as it ended, which the body tells of: the job may have
been retried since. Senders take a delivery by bumping its attempt count from the
value they expect (compare-and-set), which lets a due delivery be enqueued twice and
still be sent once per attempt.

An event goes to the job's or batch's own callback URL (a delivery naming no
endpoint, signed with the tenant's secret) and to each of the tenant's enabled
endpoints whose filter takes it (signed with that endpoint's secret). Deliveries
failed or stopped make up the dead-letter list, and a replay sends them again.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage import webhook_endpoints
from storage.delivery_status import DEAD, DeliveryStatus
from storage.models import Batch, WebhookAttempt, WebhookDelivery, WebhookEndpoint, new_id, utcnow
from storage.random_ids import uuid4_hex

BATCH_COMPLETED = "batch.completed"


class DeliveryNotFound(LookupError):
    """No such webhook delivery for this tenant."""


@dataclass(frozen=True)
class DeliveryView:
    id: str
    job_id: str | None
    batch_id: str | None
    endpoint_id: str | None
    url: str
    event_type: str
    msg_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def from_row(cls, row: WebhookDelivery) -> DeliveryView:
        return cls(
            id=row.id,
            job_id=row.job_id,
            batch_id=row.batch_id,
            endpoint_id=row.endpoint_id,
            url=row.url,
            event_type=row.event_type,
            msg_id=row.msg_id,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
        )


@dataclass(frozen=True)
class AttemptView:
    number: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None


@dataclass(frozen=True)
class OutgoingWebhook:
    """What a sender needs for one attempt: where, about what, and the keys to sign it
    with (two during a rotation's overlap). The body is the sender's to build, from the
    job or batch it names."""

    delivery_id: str
    attempt: int
    url: str
    msg_id: str
    secrets: tuple[str, ...]
    tenant_id: str
    endpoint_id: str | None
    event_type: str
    job_id: str | None
    batch_id: str | None
    snapshot: dict[str, Any] | None = None


def record_job_event(
    session: Session,
    tenant_id: str,
    job_id: str,
    url: str | None,
    event_type: str,
    snapshot: dict[str, Any] | None = None,
    has_endpoints: bool = True,
) -> list[str]:
    """Queue a finished job's webhook to `url` (if any) and to the tenant's endpoints
    that take it, each keeping `snapshot`, the job as it ended; returns the delivery ids.
    `has_endpoints` False: the caller has read, in this transaction, that the tenant has
    no enabled endpoint, and none is looked for."""
    subject: dict[str, Any] = {"job_id": job_id, "snapshot": snapshot}
    ids = [record(session, tenant_id, url, event_type, **subject)] if url else []
    if not has_endpoints:
        return ids
    return ids + _record_to_endpoints(session, tenant_id, event_type, **subject)


def record_batch_event(session: Session, batch: Batch) -> list[str]:
    """Queue a completed batch's webhook to its callback URL (if any) and to the
    tenant's endpoints that take it."""
    tenant_id, url = batch.tenant_id, batch.callback_url
    ids = [record(session, tenant_id, url, BATCH_COMPLETED, batch_id=batch.id)] if url else []
    return ids + _record_to_endpoints(session, tenant_id, BATCH_COMPLETED, batch_id=batch.id)


def _record_to_endpoints(
    session: Session, tenant_id: str, event_type: str, **subject: Any
) -> list[str]:
    return [
        record(session, tenant_id, endpoint.url, event_type, endpoint_id=endpoint.id, **subject)
        for endpoint in webhook_endpoints.matching(session, tenant_id, event_type)
    ]


def record(
    session: Session,
    tenant_id: str,
    url: str,
    event_type: str,
    job_id: str | None = None,
    batch_id: str | None = None,
    endpoint_id: str | None = None,
    snapshot: dict[str, Any] | None = None,
) -> str:
    """Store a pending delivery of event `event_type` about a job or a batch to `url`
    (an endpoint's, or a callback URL's without `endpoint_id`); returns its id."""
    row = WebhookDelivery(
        id=new_id("whd"),
        tenant_id=tenant_id,
        endpoint_id=endpoint_id,
        job_id=job_id,
        batch_id=batch_id,
        snapshot=snapshot,
        url=url,
        event_type=event_type,
        msg_id=f"msg_{uuid4_hex()}",
        next_attempt_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row.id


def pending_url(session: Session, delivery_id: str, expected_attempts: int) -> str | None:
    """The URL of a pending delivery still at `expected_attempts`; None if it is not."""
    return session.scalar(
        select(WebhookDelivery.url).where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == "pending",
            WebhookDelivery.attempts == expected_attempts,
        )
    )


def postpone(session: Session, delivery_id: str, expected_attempts: int, delay_s: float) -> None:
    """Move a pending delivery's next attempt `delay_s` ahead, unless an attempt was
    taken meanwhile: the sender carries it, and the sweeper leaves it alone until then."""
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == "pending",
            WebhookDelivery.attempts == expected_attempts,
        )
        .values(next_attempt_at=utcnow() + timedelta(seconds=delay_s))
        .execution_options(synchronize_session=False)
    )


def take_attempt(
    session: Session, delivery_id: str, expected_attempts: int, lease_s: float
) -> OutgoingWebhook | None:
    """Claim attempt `expected_attempts + 1` of a pending delivery; None if someone else did.

    The delivery's next attempt moves `lease_s` ahead, so a sender that dies
    mid-attempt is retried by the sweeper after the lease runs out. A delivery whose
    endpoint is gone or disabled is stopped instead.
    """
    found = session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if found is None:
        return None
    secrets = webhook_endpoints.secrets_for(session, found.tenant_id, found.endpoint_id, utcnow())
    if secrets is None:
        _stop(session, delivery_id)
        return None
    moved = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == "pending",
            WebhookDelivery.attempts == expected_attempts,
        )
        .values(
            attempts=WebhookDelivery.attempts + 1,
            next_attempt_at=utcnow() + timedelta(seconds=lease_s),
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not moved:
        return None
    row = session.get(WebhookDelivery, delivery_id, populate_existing=True)
    assert row is not None
    return OutgoingWebhook(
        delivery_id=row.id,
        attempt=row.attempts,
        url=row.url,
        msg_id=row.msg_id,
        secrets=secrets,
        tenant_id=row.tenant_id,
        endpoint_id=row.endpoint_id,
        event_type=row.event_type,
        job_id=row.job_id,
        batch_id=row.batch_id,
        snapshot=row.snapshot,
    )


def record_attempt(
    session: Session,
    delivery_id: str,
    number: int,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    retry_in_s: float | None,
    payload: str,
) -> str:
    """Log one attempt with the body it sent, and settle the delivery: delivered, retry
    later or failed (returned). The delivery keeps the body of its latest attempt; one
    stopped meanwhile (its endpoint disabled) stays stopped unless this attempt got
    through."""
    session.add(
        WebhookAttempt(
            delivery_id=delivery_id,
            number=number,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
            payload=payload,
        )
    )
    ok = status_code is not None and 200 <= status_code < 300
    values: dict[str, Any] = {
        "last_status_code": status_code,
        "last_error": error,
        "payload": payload,
    }
    if ok:
        values |= {"status": "delivered", "delivered_at": utcnow(), "next_attempt_at": None}
    elif retry_in_s is None:
        values |= {"status": "failed", "next_attempt_at": None}
    else:
        values |= {"next_attempt_at": utcnow() + timedelta(seconds=retry_in_s)}
    stmt = update(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.attempts == number
    )
    if not ok:
        stmt = stmt.where(WebhookDelivery.status == DeliveryStatus.PENDING)
    moved = session.execute(
        stmt.values(**values).execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not moved:
        return str(
            session.scalar(select(WebhookDelivery.status).where(WebhookDelivery.id == delivery_id))
        )
    return str(values.get("status", DeliveryStatus.PENDING))


def _stop(session: Session, delivery_id: str) -> None:
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.STOPPED, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )


def due(session: Session, now: datetime, limit: int = 500) -> list[tuple[str, int]]:
    """Pending deliveries whose next attempt is due: (id, attempts so far)."""
    rows = session.execute(
        select(WebhookDelivery.id, WebhookDelivery.attempts)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    return [(row.id, row.attempts) for row in rows]


def list_for_job(session: Session, tenant_id: str, job_id: str) -> list[DeliveryView]:
    return list_deliveries(session, tenant_id, job_id=job_id)


def list_deliveries(
    session: Session,
    tenant_id: str,
    job_id: str | None = None,
    endpoint_id: str | None = None,
    statuses: Collection[str] | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> list[DeliveryView]:
    """The tenant's deliveries that match every filter given, oldest first."""
    stmt = _matching(tenant_id, job_id, endpoint_id, statuses, event_type, since)
    rows = session.scalars(
        stmt.order_by(WebhookDelivery.created_at, WebhookDelivery.id).limit(limit).offset(offset)
    )
    return [DeliveryView.from_row(row) for row in rows]


def _matching(
    tenant_id: str,
    job_id: str | None,
    endpoint_id: str | None,
    statuses: Collection[str] | None,
    event_type: str | None,
    since: datetime | None,
) -> Any:
    stmt = select(WebhookDelivery).where(WebhookDelivery.tenant_id == tenant_id)
    if job_id is not None:
        stmt = stmt.where(WebhookDelivery.job_id == job_id)
    if endpoint_id is not None:
        stmt = stmt.where(WebhookDelivery.endpoint_id == endpoint_id)
    if statuses:
        stmt = stmt.where(WebhookDelivery.status.in_(sorted(statuses)))
    if event_type is not None:
        stmt = stmt.where(WebhookDelivery.event_type == event_type)
    if since is not None:
        stmt = stmt.where(WebhookDelivery.created_at >= since)
    return stmt


def attempts_of(session: Session, tenant_id: str, delivery_id: str) -> list[AttemptView]:
    get(session, tenant_id, delivery_id)
    return attempts_of_each(session, [delivery_id])[delivery_id]


def attempts_of_each(
    session: Session, delivery_ids: Collection[str]
) -> dict[str, list[AttemptView]]:
    """The attempts of each of the deliveries, in order, in one query: the ids are the
    caller's, already found as its tenant's."""
    found: dict[str, list[AttemptView]] = {delivery_id: [] for delivery_id in delivery_ids}
    if not found:
        return found
    rows = session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(sorted(found)))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)
    )
    for r in rows:
        found[r.delivery_id].append(
            AttemptView(r.number, r.started_at, r.duration_ms, r.status_code, r.error)
        )
    return found


def get(session: Session, tenant_id: str, delivery_id: str) -> DeliveryView:
    row = session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if row is None or row.tenant_id != tenant_id:
        raise DeliveryNotFound(delivery_id)
    return DeliveryView.from_row(row)


def redeliver(session: Session, tenant_id: str, delivery_id: str) -> DeliveryView:
    """Send a delivery again, with the same webhook-id, whatever its status; refused
    (`EndpointDisabled`) while its endpoint is disabled or gone."""
    view = get(session, tenant_id, delivery_id)
    if view.endpoint_id is not None:
        _require_usable(session, tenant_id, view.endpoint_id)
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(status="pending", next_attempt_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return get(session, tenant_id, delivery_id)


def _require_usable(session: Session, tenant_id: str, endpoint_id: str) -> None:
    try:
        webhook_endpoints.require_enabled(session, tenant_id, endpoint_id)
    except webhook_endpoints.EndpointNotFound:
        raise webhook_endpoints.EndpointDisabled(endpoint_id) from None


def replay(
    session: Session,
    tenant_id: str,
    since: datetime,
    endpoint_id: str | None = None,
    statuses: Collection[str] = DEAD,
    event_type: str | None = None,
    most: int = 1000,
) -> list[tuple[str, int]]:
    """Make pending again, with their webhook-ids, the tenant's deliveries created
    since `since` in `statuses` (the dead-letter list by default), of one endpoint or of
    every one, optionally of one event type: at most `most`, oldest first. Returns
    (id, attempts so far) to send. An endpoint named must be enabled
    (`EndpointDisabled`); without one, deliveries to disabled or deleted endpoints are
    left alone. Replaying enables nothing."""
    if endpoint_id is not None:
        webhook_endpoints.require_enabled(session, tenant_id, endpoint_id)
    stmt = _matching(tenant_id, None, endpoint_id, statuses, event_type, since)
    if endpoint_id is None:
        enabled = select(WebhookEndpoint.id).where(
            WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.enabled.is_(True)
        )
        stmt = stmt.where(
            WebhookDelivery.endpoint_id.is_(None) | WebhookDelivery.endpoint_id.in_(enabled)
        )
    rows = list(session.scalars(stmt.order_by(WebhookDelivery.created_at).limit(most)))
    ids = [row.id for row in rows]
    if ids:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids))
            .values(status=DeliveryStatus.PENDING, next_attempt_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return [(row.id, row.attempts) for row in rows]
