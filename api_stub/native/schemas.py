"""Request and response models of the native API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, PlainSerializer

from storage.jobs import JobView
from storage.retries import MAX_BULK_RETRY
from storage.states import JobState
from storage.webhooks import AttemptView, DeliveryView

# Timestamps are stored as naive UTC; say so on the wire.
Utc = Annotated[datetime, PlainSerializer(lambda d: d.isoformat(timespec="milliseconds") + "Z")]


class JobCreate(BaseModel):
    kind: str = Field(description="the job kind, e.g. noop")
    params: dict[str, Any] = Field(default_factory=dict)
    input_file_id: str | None = None
    input_url: HttpUrl | None = None
    callback_url: HttpUrl | None = None
    priority: int | None = Field(
        default=None,
        ge=0,
        le=9,
        description="release order, higher first (default 5); tenants share equal priorities",
    )


class JobError(BaseModel):
    code: str
    message: str | None


class OutputPublic(BaseModel):
    name: str
    size: int
    sha256: str
    url: str | None


class JobPublic(BaseModel):
    id: str
    kind: str
    state: JobState
    params: dict[str, Any]
    input_file_id: str | None
    input_url: str | None
    callback_url: str | None
    batch_id: str | None
    task_id: str | None = Field(description="the Celery task id of the job's current message")
    priority: int
    released_at: Utc | None = Field(
        description="when the job left the backlog for its queue; null while it waits"
    )
    queue_position: int | None = Field(
        default=None,
        description="while it waits: how many of your own waiting jobs on its queue go first",
    )
    attempts: int
    completion: float
    stage: str | None
    result: dict[str, Any] | None
    outputs: list[OutputPublic]
    error: JobError | None
    worker: str | None
    worker_pid: int | None
    created_at: Utc
    started_at: Utc | None
    finished_at: Utc | None

    @classmethod
    def of(cls, job: JobView, output_url: Any, position: int | None = None) -> JobPublic:
        return cls(
            id=job.id,
            kind=job.kind,
            state=job.state,
            params=job.params,
            input_file_id=job.input_file_id,
            input_url=job.input_url,
            callback_url=job.callback_url,
            batch_id=job.batch_id,
            task_id=job.dispatch_id,
            priority=job.priority,
            released_at=job.released_at,
            queue_position=position,
            attempts=job.attempts,
            completion=job.completion,
            stage=job.stage,
            result=job.result,
            outputs=[
                OutputPublic(
                    name=o["name"],
                    size=o["size"],
                    sha256=o["sha256"],
                    url=output_url(o["blob_key"]),
                )
                for o in job.outputs
            ],
            error=JobError(code=job.error_code, message=job.error_message)
            if job.error_code and job.state != JobState.SUCCEEDED
            else None,
            worker=job.worker,
            worker_pid=job.worker_pid,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


class JobPage(BaseModel):
    items: list[JobPublic]
    total: int
    limit: int
    offset: int


class RetryRequest(BaseModel):
    """Which of your ended jobs to start over, oldest first, at most `limit` a call."""

    model_config = ConfigDict(extra="forbid")

    state: Literal["failed", "canceled"] = "failed"
    kind: str | None = Field(default=None, max_length=40)
    batch_id: str | None = Field(default=None, max_length=40)
    created_after: datetime | None = Field(default=None, description="created at or after")
    created_before: datetime | None = Field(default=None, description="created before")
    limit: int = Field(default=100, ge=1, le=MAX_BULK_RETRY)


class RetryResult(BaseModel):
    count: int
    ids: list[str]
    more: bool = Field(description="more jobs matched than `limit`: call again for them")


class DeadLetter(BaseModel):
    id: str
    kind: str
    batch_id: str | None
    attempts: int
    max_attempts: int
    error: JobError
    created_at: Utc
    finished_at: Utc | None

    @classmethod
    def of(cls, job: JobView) -> DeadLetter:
        return cls(
            id=job.id,
            kind=job.kind,
            batch_id=job.batch_id,
            attempts=job.attempts,
            max_attempts=job.max_attempts,
            error=JobError(code=job.error_code or "failed", message=job.error_message),
            created_at=job.created_at,
            finished_at=job.finished_at,
        )


class DeadLetterPage(BaseModel):
    items: list[DeadLetter]
    total: int
    limit: int
    offset: int


class FilePublic(BaseModel):
    id: str
    name: str
    size: int
    sha256: str
    created_at: Utc
    expires_at: Utc | None
    url: str


class AttemptPublic(BaseModel):
    number: int
    started_at: Utc
    duration_ms: int
    status_code: int | None
    error: str | None

    @classmethod
    def of(cls, attempt: AttemptView) -> AttemptPublic:
        return cls(**attempt.__dict__)


class DeliveryPublic(BaseModel):
    id: str
    job_id: str | None
    batch_id: str | None
    endpoint_id: str | None = Field(description="null for the job's own callback URL")
    url: str
    event_type: str
    webhook_id: str
    status: str = Field(description="pending, delivered, failed or stopped")
    attempts: list[AttemptPublic]
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: Utc | None
    created_at: Utc
    delivered_at: Utc | None

    @classmethod
    def of(cls, view: DeliveryView, attempts: list[AttemptView]) -> DeliveryPublic:
        return cls(
            id=view.id,
            job_id=view.job_id,
            batch_id=view.batch_id,
            endpoint_id=view.endpoint_id,
            url=view.url,
            event_type=view.event_type,
            webhook_id=view.msg_id,
            status=view.status,
            attempts=[AttemptPublic.of(a) for a in attempts],
            last_status_code=view.last_status_code,
            last_error=view.last_error,
            next_attempt_at=view.next_attempt_at,
            created_at=view.created_at,
            delivered_at=view.delivered_at,
        )
