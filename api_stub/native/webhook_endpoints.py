"""Native webhook endpoints API: a tenant's subscriptions, their secrets and replays.

Every route answers 404 for another tenant's endpoint. A disabled endpoint is sent
nothing, replays included, until it is enabled (`PATCH ... {"enabled": true}`):
replaying never enables an endpoint behind its owner's back.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Response
from pydantic import HttpUrl

from api_stub.deps import CallerDep, ReadSessionDep, RequestIdDep, SessionDep, SettingsDep
from api_stub.native.webhook_schemas import (
    EndpointCreate,
    EndpointCreated,
    EndpointPublic,
    EndpointUpdate,
    Replayed,
    ReplayRequest,
    SecretRotated,
)
from api_stub.native.webhooks import disabled_problem, send_replayed
from api_stub.problems import Problem, field_error
from config.settings import Settings
from storage import audit, webhook_endpoints, webhooks
from storage.delivery_status import statuses_of
from storage.webhook_endpoints import EndpointDisabled, EndpointNotFound, TooManyEndpoints
from workers.http_guard import ForbiddenAddress, is_public_address, resolve_checked

router = APIRouter(prefix="/v1/webhooks/endpoints", tags=["webhooks"])
DEFAULT_PORTS = {"http": 80, "https": 443}


def checked_url(url: HttpUrl, settings: Settings) -> str:
    """The URL as stored, once the SSRF guard (when on) finds its host public: the
    same check every attempt makes again, so a bad endpoint is refused when made."""
    text = str(url)
    if settings.ssrf_guard_enabled:
        parts = urlsplit(text)
        try:
            resolve_checked(
                parts.hostname or "", parts.port or DEFAULT_PORTS[parts.scheme], is_public_address
            )
        except ForbiddenAddress as exc:
            raise field_error(422, "url", f"refused: {exc}") from None
    return text


def not_found(endpoint_id: str) -> Problem:
    return Problem(404, f"endpoint {endpoint_id} not found", "not-found")


@router.post("", status_code=201, response_model=EndpointCreated)
def create_endpoint(
    body: EndpointCreate,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> EndpointCreated:
    """A new endpoint; the answer carries its `whsec_` secret, shown this once."""
    url = checked_url(body.url, settings)
    try:
        view, secret = webhook_endpoints.create(
            session,
            caller.tenant_id,
            url,
            [str(t) for t in body.event_types],
            settings.webhook_endpoints_max,
        )
    except TooManyEndpoints as exc:
        raise Problem(409, str(exc), "too-many-endpoints") from None
    audit.record(
        session,
        "webhook.endpoint.create",
        caller.key_id,
        caller.tenant_id,
        view.id,
        request_id,
        url=audit.url_for_the_record(url),
        event_types=view.event_types,
    )
    session.commit()
    return EndpointCreated(**EndpointPublic.of(view).model_dump(), secret=secret)


@router.get("", response_model=list[EndpointPublic])
def list_endpoints(caller: CallerDep, session: ReadSessionDep) -> list[EndpointPublic]:
    return [EndpointPublic.of(v) for v in webhook_endpoints.list_for(session, caller.tenant_id)]


@router.get("/{endpoint_id}", response_model=EndpointPublic)
def get_endpoint(endpoint_id: str, caller: CallerDep, session: ReadSessionDep) -> EndpointPublic:
    try:
        return EndpointPublic.of(webhook_endpoints.get(session, caller.tenant_id, endpoint_id))
    except EndpointNotFound:
        raise not_found(endpoint_id) from None


@router.patch("/{endpoint_id}", response_model=EndpointPublic)
def update_endpoint(
    endpoint_id: str,
    body: EndpointUpdate,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> EndpointPublic:
    """Change the URL, the filter, or enable or disable the endpoint."""
    url = checked_url(body.url, settings) if body.url is not None else None
    event_types = [str(t) for t in body.event_types] if body.event_types is not None else None
    try:
        view = webhook_endpoints.update_endpoint(
            session, caller.tenant_id, endpoint_id, caller.key_id, url, event_types, body.enabled
        )
    except EndpointNotFound:
        raise not_found(endpoint_id) from None
    changed = body.model_dump(exclude_none=True, mode="json")
    if url is not None:
        changed["url"] = audit.url_for_the_record(url)
    audit.record(
        session,
        "webhook.endpoint.update",
        caller.key_id,
        caller.tenant_id,
        endpoint_id,
        request_id,
        **changed,
    )
    session.commit()
    return EndpointPublic.of(view)


@router.delete("/{endpoint_id}", status_code=204)
def delete_endpoint(
    endpoint_id: str, caller: CallerDep, session: SessionDep, request_id: RequestIdDep
) -> Response:
    """Remove the endpoint; its deliveries stay in the log, the pending ones stopped."""
    try:
        webhook_endpoints.delete(session, caller.tenant_id, endpoint_id)
    except EndpointNotFound:
        raise not_found(endpoint_id) from None
    audit.record(
        session, "webhook.endpoint.delete", caller.key_id, caller.tenant_id, endpoint_id, request_id
    )
    session.commit()
    return Response(status_code=204)


@router.post("/{endpoint_id}/rotate-secret", response_model=SecretRotated)
def rotate_secret(
    endpoint_id: str,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> SecretRotated:
    """A new secret; the old one keeps signing beside it for `webhook_secret_overlap_s`."""
    try:
        rotated = webhook_endpoints.rotate_secret(
            session, caller.tenant_id, endpoint_id, settings.webhook_secret_overlap_s
        )
    except EndpointNotFound:
        raise not_found(endpoint_id) from None
    audit.record(
        session, "webhook.secret.rotate", caller.key_id, caller.tenant_id, endpoint_id, request_id
    )
    session.commit()
    return SecretRotated.of(rotated)


@router.post("/{endpoint_id}/replay", status_code=202, response_model=Replayed)
def replay(
    endpoint_id: str,
    body: ReplayRequest,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> Replayed:
    """Send again the endpoint's deliveries created since `since` in `status` (the
    dead-letter list by default), with their webhook-ids; 409 while it is disabled."""
    try:
        taken = webhooks.replay(
            session,
            caller.tenant_id,
            body.since_utc(),
            endpoint_id=endpoint_id,
            statuses=statuses_of(body.status),
            event_type=body.event_type,
            most=settings.webhook_replay_max,
        )
    except EndpointNotFound:
        raise not_found(endpoint_id) from None
    except EndpointDisabled:
        raise disabled_problem(endpoint_id) from None
    return send_replayed(session, caller, endpoint_id, body, taken, request_id)
