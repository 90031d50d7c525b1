"""Native webhooks API: the delivery log of a job, and redelivery."""

from __future__ import annotations

from fastapi import APIRouter

from api_stub.deps import CallerDep, ReadSessionDep, RequestIdDep, SessionDep
from api_stub.native.schemas import DeliveryPublic
from api_stub.problems import Problem
from storage import audit, webhooks
from storage.webhooks import DeliveryNotFound
from workers.enqueue import send_delivery

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.get("/deliveries", response_model=list[DeliveryPublic])
def list_deliveries(
    job_id: str, caller: CallerDep, session: ReadSessionDep
) -> list[DeliveryPublic]:
    """Every delivery for one of the caller's jobs, each with all its attempts."""
    views = webhooks.list_for_job(session, caller.tenant_id, job_id)
    return [
        DeliveryPublic.of(v, webhooks.attempts_of(session, caller.tenant_id, v.id)) for v in views
    ]


@router.post("/deliveries/{delivery_id}/redeliver", status_code=202, response_model=DeliveryPublic)
def redeliver(
    delivery_id: str, caller: CallerDep, session: SessionDep, request_id: RequestIdDep
) -> DeliveryPublic:
    """Send a delivery again, with the same `webhook-id`."""
    try:
        view = webhooks.redeliver(session, caller.tenant_id, delivery_id)
    except DeliveryNotFound:
        raise Problem(404, f"delivery {delivery_id} not found", "not-found") from None
    audit.record(
        session, "webhook.redeliver", caller.key_id, caller.tenant_id, delivery_id, request_id
    )
    session.commit()
    send_delivery(view.id, view.attempts)
    return DeliveryPublic.of(view, webhooks.attempts_of(session, caller.tenant_id, view.id))
