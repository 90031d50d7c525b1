"""Request and response models of the native webhook endpoints API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, HttpUrl

from api_stub.native.schemas import Utc
from storage.retries import as_stored_utc
from storage.webhook_endpoints import EndpointView, RotatedSecret

# The events an endpoint may subscribe to: storage.webhook_endpoints.EVENT_TYPES.
EventType = Literal["job.succeeded", "job.failed", "job.canceled", "batch.completed"]
ReplayStatus = Literal["dead", "failed", "stopped", "delivered"]
EVENT_TYPES_HELP = "event types delivered here; empty (the default) for every one"


class EndpointCreate(BaseModel):
    url: HttpUrl = Field(description="where events are POSTed, http or https")
    event_types: list[EventType] = Field(default_factory=list, description=EVENT_TYPES_HELP)


class EndpointUpdate(BaseModel):
    url: HttpUrl | None = None
    event_types: list[EventType] | None = Field(default=None, description=EVENT_TYPES_HELP)
    enabled: bool | None = Field(
        default=None, description="true enables (clearing the failure record), false disables"
    )


class EndpointPublic(BaseModel):
    id: str
    url: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    disabled_at: Utc | None
    failing_since: Utc | None = Field(description="the first failed attempt since a success")
    previous_secret_valid_until: Utc | None = Field(
        description="while a rotation overlaps: when the previous secret stops signing"
    )
    created_at: Utc
    updated_at: Utc

    @classmethod
    def of(cls, view: EndpointView) -> EndpointPublic:
        return cls(
            id=view.id,
            url=view.url,
            event_types=view.event_types,
            enabled=view.enabled,
            disabled_reason=view.disabled_reason,
            disabled_at=view.disabled_at,
            failing_since=view.failing_since,
            previous_secret_valid_until=view.previous_secret_expires_at,
            created_at=view.created_at,
            updated_at=view.updated_at,
        )


class EndpointCreated(EndpointPublic):
    secret: str = Field(description="the endpoint's `whsec_` signing secret, shown this once")


class SecretRotated(BaseModel):
    secret: str = Field(description="the new `whsec_` secret, shown this once")
    previous_valid_until: Utc | None = Field(
        description="until then deliveries carry the old secret's signature too"
    )

    @classmethod
    def of(cls, rotated: RotatedSecret) -> SecretRotated:
        return cls(secret=rotated.secret, previous_valid_until=rotated.previous_valid_until)


class ReplayRequest(BaseModel):
    since: datetime = Field(description="deliveries created at or after this ISO 8601 time")
    status: ReplayStatus = Field(
        default="dead", description="which deliveries: dead (failed or stopped), or one status"
    )
    event_type: EventType | None = None

    def since_utc(self) -> datetime:
        return naive_utc(self.since)


def naive_utc(moment: datetime) -> datetime:
    """A time as the naive UTC the tables hold; one without an offset is taken as UTC,
    and one past datetime's range once in UTC bounds the range."""
    return as_stored_utc(moment)


class Replayed(BaseModel):
    replayed: int
    delivery_ids: list[str]
