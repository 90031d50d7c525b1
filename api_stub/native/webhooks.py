"""Native webhooks API: the delivery log (a job's, an endpoint's, the dead-letter list),
redelivery, and the tenant's default secret for callback URLs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from api_stub.bounds import SQL_INT_MAX
from api_stub.callers import Principal
from api_stub.deps import CallerDep, ReadSessionDep, RequestIdDep, SessionDep, SettingsDep
from api_stub.native.schemas import DeliveryPublic
from api_stub.native.webhook_schemas import (
    EventType,
    Replayed,
    ReplayRequest,
    SecretRotated,
    naive_utc,
)
from api_stub.problems import Problem
from storage import audit, webhook_endpoints, webhooks
from storage.delivery_status import statuses_of
from storage.webhook_endpoints import EndpointDisabled
from storage.webhooks import DeliveryNotFound
from workers.enqueue import send_delivery

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

StatusFilter = Literal["pending", "delivered", "failed", "stopped", "dead"]


def disabled_problem(endpoint_id: str) -> Problem:
    return Problem(
        409,
        f"endpoint {endpoint_id} is disabled or deleted: enable it "
        f'(PATCH /v1/webhooks/endpoints/{endpoint_id} {{"enabled": true}}) before replaying',
        "endpoint-disabled",
    )


@router.get("/deliveries", response_model=list[DeliveryPublic])
def list_deliveries(
    caller: CallerDep,
    session: ReadSessionDep,
    job_id: str | None = None,
    endpoint_id: str | None = None,
    status: Annotated[
        StatusFilter | None, Query(description="a status, or dead: failed and stopped")
    ] = None,
    event_type: EventType | None = None,
    since: Annotated[datetime | None, Query(description="created at or after (UTC)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=SQL_INT_MAX)] = 0,
) -> list[DeliveryPublic]:
    """The caller's deliveries matching every filter, oldest first, each with all its
    attempts; `status=dead` is the dead-letter list."""
    views = webhooks.list_deliveries(
        session,
        caller.tenant_id,
        job_id=job_id,
        endpoint_id=endpoint_id,
        statuses=statuses_of(status) if status else None,
        event_type=event_type,
        since=naive_utc(since) if since else None,
        limit=limit,
        offset=offset,
    )
    attempts = webhooks.attempts_of_each(session, [v.id for v in views])
    return [DeliveryPublic.of(v, attempts[v.id]) for v in views]


@router.post("/deliveries/{delivery_id}/redeliver", status_code=202, response_model=DeliveryPublic)
def redeliver(
    delivery_id: str, caller: CallerDep, session: SessionDep, request_id: RequestIdDep
) -> DeliveryPublic:
    """Send a delivery again, with the same `webhook-id`; 409 while its endpoint is
    disabled."""
    try:
        view = webhooks.redeliver(session, caller.tenant_id, delivery_id)
    except DeliveryNotFound:
        raise Problem(404, f"delivery {delivery_id} not found", "not-found") from None
    except EndpointDisabled as exc:
        raise disabled_problem(str(exc)) from None
    audit.record(
        session, "webhook.redeliver", caller.key_id, caller.tenant_id, delivery_id, request_id
    )
    session.commit()
    send_delivery(view.id, view.attempts)
    return DeliveryPublic.of(view, webhooks.attempts_of(session, caller.tenant_id, view.id))


@router.post("/replay", status_code=202, response_model=Replayed)
def replay_all(
    body: ReplayRequest,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> Replayed:
    """Send again the caller's deliveries created since `since` in `status` (the
    dead-letter list by default), to callback URLs and enabled endpoints; those of
    disabled or deleted endpoints are left alone."""
    taken = webhooks.replay(
        session,
        caller.tenant_id,
        body.since_utc(),
        statuses=statuses_of(body.status),
        event_type=body.event_type,
        most=settings.webhook_replay_max,
    )
    return send_replayed(session, caller, None, body, taken, request_id)


def send_replayed(
    session: Session,
    caller: Principal,
    endpoint_id: str | None,
    body: ReplayRequest,
    taken: list[tuple[str, int]],
    request_id: str | None,
) -> Replayed:
    """Audit a replay (of one endpoint, or tenant-wide), commit it, then send what it
    made pending again."""
    audit.record(
        session,
        "webhook.replay",
        caller.key_id,
        caller.tenant_id,
        endpoint_id,
        request_id,
        since=body.since_utc().isoformat(),
        status=body.status,
        replayed=len(taken),
    )
    session.commit()
    for delivery_id, attempts in taken:
        send_delivery(delivery_id, attempts)
    return Replayed(replayed=len(taken), delivery_ids=[d for d, _ in taken])


@router.post("/secret/rotate", response_model=SecretRotated)
def rotate_default_secret(
    caller: CallerDep, session: SessionDep, settings: SettingsDep, request_id: RequestIdDep
) -> SecretRotated:
    """A new default secret for the caller's callback URLs; the old one keeps signing
    beside it for `webhook_secret_overlap_s`."""
    rotated = webhook_endpoints.rotate_tenant_secret(
        session, caller.tenant_id, settings.webhook_secret_overlap_s
    )
    audit.record(
        session, "webhook.secret.rotate", caller.key_id, caller.tenant_id, None, request_id
    )
    session.commit()
    return SecretRotated.of(rotated)
