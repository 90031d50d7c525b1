"""A tenant's webhook endpoints: subscriptions with a filter, a secret and a state.

Every job or batch event goes to each enabled endpoint of its tenant whose filter
takes it, beside the callback URL the job carries. An endpoint answering 410 Gone,
or failing every attempt for longer than `webhook_disable_after_s`, is disabled: its
pending deliveries stop (and join the dead-letter list) and nothing new is queued for
it until it is enabled again. A rotated secret keeps signing beside the new one for
an overlap window, then is forgotten.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from storage import audit
from storage.delivery_status import DeliveryStatus
from storage.models import Tenant, WebhookDelivery, WebhookEndpoint, new_id, utcnow
from storage.tenants import new_webhook_secret

log = logging.getLogger(__name__)

# Every event the farm sends: a job's end, in each final state, and a batch's.
EVENT_TYPES = ("job.succeeded", "job.failed", "job.canceled", "batch.completed")
GONE = 410
# Who the audit log names when the farm itself disables an endpoint.
FARM_ACTOR = "farm"


class EndpointNotFound(LookupError):
    """No such webhook endpoint for this tenant."""


class EndpointDisabled(Exception):
    """The endpoint is disabled: enable it before sending anything to it again."""


class TooManyEndpoints(Exception):
    """The tenant has as many webhook endpoints as it may."""


@dataclass(frozen=True)
class EndpointView:
    """An endpoint as its tenant sees it: everything but its secrets."""

    id: str
    url: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: WebhookEndpoint) -> EndpointView:
        return cls(
            id=row.id,
            url=row.url,
            event_types=list(row.event_types),
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            disabled_at=row.disabled_at,
            failing_since=row.failing_since,
            previous_secret_expires_at=row.previous_secret_expires_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True)
class RotatedSecret:
    """Shown once: the new secret, and until when the old one still signs."""

    secret: str
    previous_valid_until: datetime | None


def unknown_event_types(event_types: Sequence[str]) -> list[str]:
    return [t for t in event_types if t not in EVENT_TYPES]


def takes(event_types: Sequence[str], event_type: str) -> bool:
    """Whether a filter takes an event: an empty filter takes every one."""
    return not event_types or event_type in event_types


def signing_secrets(
    current: str, previous: str | None, previous_expires_at: datetime | None, now: datetime
) -> tuple[str, ...]:
    """The secrets a delivery is signed with now: the previous one first while its
    overlap window lasts, then the current one."""
    if previous and previous_expires_at and now < previous_expires_at:
        return (previous, current)
    return (current,)


def disable_reason(
    status_code: int | None, failing_since: datetime | None, now: datetime, window_s: float
) -> str | None:
    """Why a failed attempt disables its endpoint, or None when it does not: a 410 Gone
    at once, else failing attempts only for longer than `window_s`."""
    if status_code == GONE:
        return "the endpoint answered 410 Gone"
    if failing_since is not None and now - failing_since > timedelta(seconds=window_s):
        return f"every attempt failed for over {window_s:g} s"
    return None


def create(
    session: Session, tenant_id: str, url: str, event_types: list[str], most: int
) -> tuple[EndpointView, str]:
    """A new enabled endpoint and its secret (shown this once)."""
    # The tenant's row held while counting: two creates racing for the last place
    # take it one after the other (PostgreSQL; SQLite runs one writer at a time).
    session.get(Tenant, tenant_id, with_for_update={"key_share": True})
    count = session.scalar(select(func.count()).where(WebhookEndpoint.tenant_id == tenant_id))
    if (count or 0) >= most:
        raise TooManyEndpoints(f"a tenant may have at most {most} webhook endpoints")
    secret = new_webhook_secret()
    row = WebhookEndpoint(
        id=new_id("whe"), tenant_id=tenant_id, url=url, event_types=event_types, secret=secret
    )
    session.add(row)
    session.flush()
    return EndpointView.from_row(row), secret


def list_for(session: Session, tenant_id: str) -> list[EndpointView]:
    rows = session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.tenant_id == tenant_id)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return [EndpointView.from_row(row) for row in rows]


def get(session: Session, tenant_id: str, endpoint_id: str) -> EndpointView:
    return EndpointView.from_row(_row(session, tenant_id, endpoint_id))


def _row(session: Session, tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
    row = session.get(WebhookEndpoint, endpoint_id, populate_existing=True)
    if row is None or row.tenant_id != tenant_id:
        raise EndpointNotFound(endpoint_id)
    return row


def require_enabled(session: Session, tenant_id: str, endpoint_id: str) -> None:
    if not _row(session, tenant_id, endpoint_id).enabled:
        raise EndpointDisabled(endpoint_id)


def update_endpoint(
    session: Session,
    tenant_id: str,
    endpoint_id: str,
    actor: str,
    url: str | None = None,
    event_types: list[str] | None = None,
    enabled: bool | None = None,
) -> EndpointView:
    """Change what is given. Enabling clears the failure record; disabling stops the
    endpoint's pending deliveries."""
    row = _row(session, tenant_id, endpoint_id)
    if url is not None:
        row.url = url
    if event_types is not None:
        row.event_types = event_types
    if enabled and not row.enabled:
        row.enabled, row.disabled_reason, row.disabled_at = True, None, None
        row.failing_since = None
    row.updated_at = utcnow()
    session.flush()
    if enabled is False and row.enabled:
        disable(session, row, "disabled by request", actor)
    return EndpointView.from_row(row)


def delete(session: Session, tenant_id: str, endpoint_id: str) -> None:
    """Remove an endpoint; its deliveries stay in the log, the pending ones stopped."""
    row = _row(session, tenant_id, endpoint_id)
    _stop_pending(session, row.id)
    session.delete(row)
    session.flush()


def disable(session: Session, row: WebhookEndpoint, reason: str, actor: str) -> None:
    """Disable an endpoint, stop its pending deliveries, and record it in the audit log."""
    now = utcnow()
    row.enabled, row.disabled_reason, row.disabled_at, row.updated_at = False, reason, now, now
    stopped = _stop_pending(session, row.id)
    audit.record(
        session,
        "webhook.endpoint.disabled",
        actor,
        row.tenant_id,
        row.id,
        None,
        reason=reason,
        stopped_deliveries=stopped,
    )
    log.warning(
        "webhook endpoint %s of %s disabled: %s; %d pending deliveries stopped",
        row.id,
        row.tenant_id,
        reason,
        stopped,
    )


def _stop_pending(session: Session, endpoint_id: str) -> int:
    result = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.STOPPED, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def lock(session: Session, endpoint_id: str) -> None:
    """Hold endpoint `endpoint_id`'s row until the transaction ends (PostgreSQL)."""
    session.get(WebhookEndpoint, endpoint_id, with_for_update=True)


def note_attempt(
    session: Session, endpoint_id: str, status_code: int | None, ok: bool, window_s: float
) -> str | None:
    """Keep an endpoint's failure record after one attempt, disabling it when the
    attempt makes it so; returns the reason it was disabled, if it was."""
    row = session.get(WebhookEndpoint, endpoint_id, populate_existing=True, with_for_update=True)
    if row is None or not row.enabled:
        return None
    now = utcnow()
    if ok:
        row.failing_since = None
        return None
    if row.failing_since is None:
        row.failing_since = now
    reason = disable_reason(status_code, row.failing_since, now, window_s)
    if reason:
        disable(session, row, reason, FARM_ACTOR)
    return reason


# Read at every job's end: built once, so SQLAlchemy neither builds nor keys it again.
_ENABLED = select(WebhookEndpoint).where(
    WebhookEndpoint.tenant_id == bindparam("tenant_id"), WebhookEndpoint.enabled.is_(True)
)


def matching(session: Session, tenant_id: str, event_type: str) -> list[WebhookEndpoint]:
    """The tenant's enabled endpoints whose filter takes `event_type`."""
    rows = session.scalars(_ENABLED, {"tenant_id": tenant_id})
    return [row for row in rows if takes(row.event_types, event_type)]


def secrets_for(
    session: Session, tenant_id: str, endpoint_id: str | None, now: datetime
) -> tuple[str, ...] | None:
    """The secrets to sign a delivery with: its endpoint's, or the tenant's for a
    callback URL; None when its endpoint is gone or disabled."""
    if endpoint_id is None:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        return signing_secrets(
            tenant.webhook_secret,
            tenant.previous_webhook_secret,
            tenant.previous_webhook_secret_expires_at,
            now,
        )
    row = session.get(WebhookEndpoint, endpoint_id, populate_existing=True)
    if row is None or not row.enabled:
        return None
    return signing_secrets(row.secret, row.previous_secret, row.previous_secret_expires_at, now)


def rotate_secret(
    session: Session, tenant_id: str, endpoint_id: str, overlap_s: float
) -> RotatedSecret:
    """A new secret for an endpoint; the current one keeps signing for `overlap_s`."""
    row = _row(session, tenant_id, endpoint_id)
    secret, expires = new_webhook_secret(), _overlap_end(overlap_s)
    row.previous_secret = row.secret if expires else None
    row.previous_secret_expires_at = expires
    row.secret, row.updated_at = secret, utcnow()
    session.flush()
    return RotatedSecret(secret, expires)


def rotate_tenant_secret(session: Session, tenant_id: str, overlap_s: float) -> RotatedSecret:
    """A new default secret for the tenant's callback URLs, the old one overlapping."""
    tenant = session.get(Tenant, tenant_id, populate_existing=True, with_for_update=True)
    assert tenant is not None
    secret, expires = new_webhook_secret(), _overlap_end(overlap_s)
    tenant.previous_webhook_secret = tenant.webhook_secret if expires else None
    tenant.previous_webhook_secret_expires_at = expires
    tenant.webhook_secret = secret
    session.flush()
    return RotatedSecret(secret, expires)


def _overlap_end(overlap_s: float) -> datetime | None:
    return utcnow() + timedelta(seconds=overlap_s) if overlap_s > 0 else None


def forget_expired_secrets(session: Session, now: datetime) -> int:
    """Drop the previous secrets whose overlap window has ended; returns how many."""
    forgotten = 0
    for model, secret, expires in (
        (WebhookEndpoint, WebhookEndpoint.previous_secret, "previous_secret_expires_at"),
        (Tenant, Tenant.previous_webhook_secret, "previous_webhook_secret_expires_at"),
    ):
        column = getattr(model, expires)
        result = session.execute(
            update(model)
            .where(column.is_not(None), column <= now)
            .values({secret: None, column: None})
            .execution_options(synchronize_session=False)
        )
        forgotten += int(result.rowcount)  # type: ignore[attr-defined]
    return forgotten
