"""The farm's tables. Rows stay inside `storage/`; other packages get plain views."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import text

from storage.random_ids import uuid4_hex


def utcnow() -> datetime:
    """Now, in UTC, without tzinfo: the form every timestamp column holds."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso(moment: datetime | None) -> str | None:
    """A stored timestamp as ISO 8601 in UTC, with its `Z`."""
    return None if moment is None else moment.isoformat(timespec="milliseconds") + "Z"


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid4_hex()}"


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: DateTime(),
    }


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Needed in the clear to sign webhooks; never logged, never returned after creation.
    webhook_secret: Mapped[str] = mapped_column(String(100))
    # The secret before the latest rotation, signing beside the new one until it expires.
    previous_webhook_secret: Mapped[str | None] = mapped_column(String(100))
    previous_webhook_secret_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The agent API's (seed 001) name for the tenant: the next number at insert time,
    # computed in the INSERT itself; the unique index refuses a racing duplicate.
    merchant_id: Mapped[int] = mapped_column(
        default=text("(SELECT COALESCE(MAX(merchant_id), 0) + 1 FROM tenants)"),
        index=True,
        unique=True,
    )


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class StoredFile(Base):
    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    purged_at: Mapped[datetime | None]


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    callback_url: Mapped[str | None] = mapped_column(Text)
    dialect: Mapped[str] = mapped_column(String(20), default="native", server_default="native")
    total: Mapped[int] = mapped_column(default=0)
    # Counted in each task's final transaction; the one that makes finished == total
    # records the batch's completion webhook.
    finished: Mapped[int] = mapped_column(default=0, server_default="0")
    succeeded: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]


# The partial indexes' conditions, also the dispatcher's WHERE clauses (storage/dispatch.py).
BACKLOG_SQL = "state = 'queued' AND released_at IS NULL"
IN_FLIGHT_SQL = "state IN ('queued', 'running') AND released_at IS NOT NULL"
RUNNING_SQL = "state = 'running'"
# Ended jobs whose runs' leftovers the purge has not swept yet (the purge's index).
UNSWEPT_SQL = "finished_at IS NOT NULL AND outputs_swept_at IS NULL"


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_tenant_created", "tenant_id", "created_at"),
        Index("ix_jobs_state_enqueued", "state", "enqueued_at"),
        Index("ix_jobs_tenant_idempotency", "tenant_id", "idempotency_key", unique=True),
        # The backlog (queued, not yet released), in release order within each tenant.
        Index(
            "ix_jobs_backlog",
            "queue",
            "tenant_id",
            text("priority DESC"),
            "created_at",
            "id",
            sqlite_where=text(BACKLOG_SQL),
            postgresql_where=text(BACKLOG_SQL),
        ),
        Index(
            "ix_jobs_unswept",
            "finished_at",
            sqlite_where=text(UNSWEPT_SQL),
            postgresql_where=text(UNSWEPT_SQL),
        ),
        # A running job by the message that runs it (a redelivery's takeover).
        Index(
            "ix_jobs_running_dispatch",
            "dispatch_id",
            sqlite_where=text(RUNNING_SQL),
            postgresql_where=text(RUNNING_SQL),
        ),
        # What is in flight on a queue: released and not yet finished.
        Index(
            "ix_jobs_in_flight",
            "queue",
            "tenant_id",
            sqlite_where=text(IN_FLIGHT_SQL),
            postgresql_where=text(IN_FLIGHT_SQL),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    queue: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    input_file_id: Mapped[str | None] = mapped_column(ForeignKey("files.id"))
    input_url: Mapped[str | None] = mapped_column(Text)
    callback_url: Mapped[str | None] = mapped_column(Text)
    # The client's own name for the job within its batch (smartmanu's task_id).
    client_ref: Mapped[str | None] = mapped_column(String(100))
    # The API dialect the job came through: it shapes the job's webhook body.
    dialect: Mapped[str] = mapped_column(String(20), default="native", server_default="native")
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))

    # Release order: higher first, then fairly across tenants (storage/dispatch.py).
    priority: Mapped[int] = mapped_column(default=5, server_default="5")
    # When the dispatcher gave the job to its queue; None while it waits in the backlog.
    released_at: Mapped[datetime | None]
    # The Celery task id of the one message allowed to run this job.
    dispatch_id: Mapped[str | None] = mapped_column(String(40))
    # When that message reached the broker (None: released but not sent yet).
    enqueued_at: Mapped[datetime | None]
    # Fences a run: only the run holding the current token may finish the job.
    run_token: Mapped[str | None] = mapped_column(String(40))
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    worker: Mapped[str | None] = mapped_column(String(200))
    worker_pid: Mapped[int | None]
    heartbeat_at: Mapped[datetime | None]
    # The credits the job reserved (storage.credits.reserve); None: it reserved none, and
    # its end settles nothing.
    credits_reserved: Mapped[int | None]

    completion: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str | None] = mapped_column(String(80))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    outputs: Mapped[list[Any]] = mapped_column(default=list)
    error_code: Mapped[str | None] = mapped_column(String(80))
    error_message: Mapped[str | None] = mapped_column(Text)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None] = mapped_column(index=True)
    outputs_purged_at: Mapped[datetime | None]
    # When the prefixes of its runs that it does not name (a run killed while storing)
    # were deleted; None until then, and again once it is retried.
    outputs_swept_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# The jobs table itself, for the statements of every job's path: Core statements on it
# cost a third of ORM ones (no ORM compile state, no entities built).
JOBS = cast(Table, Job.__table__)


class WebhookEndpoint(Base):
    """A tenant's subscription: every matching job or batch event is delivered to it."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    # Event types delivered here; empty: every one.
    event_types: Mapped[list[Any]] = mapped_column(default=list)
    # Needed in the clear to sign; never logged, returned only when made.
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None]
    # The first failed attempt since the last success: None while the endpoint answers.
    failing_since: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_deliveries_endpoint_created", "endpoint_id", "created_at"),
        Index("ix_deliveries_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    # The endpoint it goes to; None for a job's or batch's own callback URL. No foreign
    # key: a deleted endpoint's deliveries stay in the log.
    endpoint_id: Mapped[str | None] = mapped_column(String(40))
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(String(60))
    msg_id: Mapped[str] = mapped_column(String(60))
    # The body of the latest attempt (None before the first): bodies are built per attempt.
    payload: Mapped[str | None] = mapped_column(Text)
    # A job's state, result and outputs as its event recorded them (jobs.snapshot).
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    number: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    duration_ms: Mapped[int] = mapped_column(default=0)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    # The body this attempt sent, with the download URLs signed for it.
    payload: Mapped[str | None] = mapped_column(Text)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenant_id: Mapped[str | None] = mapped_column(String(40), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str | None] = mapped_column(String(60))
    request_id: Mapped[str | None] = mapped_column(String(60))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class CreditAccount(Base):
    """A tenant's spendable credits; reserved credits are already taken out."""

    __tablename__ = "credit_accounts"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CreditTransaction(Base):
    """One movement of credits. A job has at most one of each kind (reserve, then charge
    or refund), which the unique index enforces whatever the retries."""

    __tablename__ = "credit_transactions"
    __table_args__ = (
        Index("ix_credit_transactions_job_kind", "job_id", "kind", unique=True),
        Index("ix_credit_transactions_tenant_at", "tenant_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    job_id: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    # Signed: what the movement did to the spendable balance (a charge moves nothing).
    amount: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ContentModel(Base):
    """A generation model a tenant registered: where to call it and what it costs.
    The API key is kept encrypted and never returned."""

    __tablename__ = "content_models"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(40))
    model_name: Mapped[str] = mapped_column(String(100))
    api_base: Mapped[str | None] = mapped_column(Text)
    api_key_encrypted: Mapped[str | None] = mapped_column(Text)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    credits_cost: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignedApp(Base):
    """An API key's app for signed server-to-server calls (seed 004): its public id, its
    secret sealed (HMAC needs the secret itself), its IP allowlist and default webhook."""

    __tablename__ = "signed_apps"

    app_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"), unique=True)
    secret_sealed: Mapped[str] = mapped_column(Text)
    allowed_ips: Mapped[list[Any]] = mapped_column(default=list)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DispatchPolicy(Base):
    """An operator's terms for one tenant on one queue (`*`: every queue): its weight in
    the fair share of the queue's window and its cap on jobs in flight there."""

    __tablename__ = "dispatch_policies"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    queue: Mapped[str] = mapped_column(String(40), primary_key=True)
    weight: Mapped[int] = mapped_column(default=1)
    max_in_flight: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
