"""Submitting a job: validate, store in one transaction, then enqueue. Shared by every dialect."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from config.settings import Settings
from storage import audit, content_models, credits, jobs
from storage.content_models import ModelNotFound
from storage.files import FileNotFound, get_file
from storage.jobs import JobView, NewJob
from storage.states import FINAL_STATES
from tasks.registry import JobKind, UnknownKind, get_kind
from workers import dispatch


class Rejected(Exception):
    """A submission the farm refuses, naming the field at fault; each dialect renders it."""

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class Submission:
    tenant_id: str
    kind: str
    params: dict[str, Any]
    input_file_id: str | None = None
    input_url: str | None = None
    callback_url: str | None = None
    idempotency_key: str | None = None
    batch_id: str | None = None
    dialect: str = "native"
    job_id: str | None = None
    # Credits reserved on top of the model's: a dialect's own price (a writing tool's).
    extra_credits: int = 0
    # Release order, 0–9, higher first; None: the dialect's default (`priority_for`).
    priority: int | None = None


def validated_kind(name: str, params: dict[str, Any]) -> tuple[JobKind, dict[str, Any]]:
    """The job kind and its params in normal form; `Rejected` naming the field otherwise."""
    try:
        kind = get_kind(name)
    except UnknownKind:
        raise Rejected("kind", f"unknown job kind {name!r}") from None
    try:
        model = kind.params.model_validate(params)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(["params", *(str(p) for p in first["loc"])])
        raise Rejected(field, first["msg"]) from None
    return kind, model.model_dump(mode="json", exclude_unset=True)


def refuse_inline_keys(params: dict[str, Any]) -> None:
    """A model's API key never travels in a job's params: it would be stored with the
    job and shown to whoever reads it. Register the model and name its `model_id`."""
    inline = params.get("model")
    if isinstance(inline, dict) and inline.get("api_key"):
        raise Rejected(
            "params.model.api_key",
            "inline API keys are not accepted: register the model (POST /api/v1/models) "
            "and pass its model_id",
        )


def credits_cost(session: Session, tenant_id: str, params: dict[str, Any]) -> int:
    """What a job costs: its registered model's `credits_cost` (0 without a model)."""
    model_id = params.get("model_id")
    if model_id is None:
        return 0
    try:
        model = content_models.get(session, tenant_id, int(model_id))
    except ModelNotFound:
        raise Rejected("params.model_id", f"no model {model_id}") from None
    if not model.is_active:
        raise Rejected("params.model_id", f"model {model_id} is not active")
    return model.credits_cost


def request_hash(sub: Submission) -> str:
    canonical = json.dumps(sub.__dict__, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def submit(
    session: Session, sub: Submission, settings: Settings, request_id: str | None, actor: str
) -> tuple[JobView, bool]:
    """Store and enqueue a job; returns it and whether it is new (False: an idempotent replay).

    The job is committed to the backlog, and released to its queue in the same
    transaction when the queue has room (else as capacity frees); its message is sent
    after the commit, so a broker outage never loses an accepted job: an unsent one is
    marked so and the reconciler sends it.
    A job whose model has a cost reserves it in the job's creating transaction, whatever
    dialect submits it; the job's end charges or refunds it. Raises `Rejected`,
    `IdempotencyConflict` when the key came with another request, or
    `InsufficientCredits` (nothing stored) when the balance does not cover the cost.
    """
    kind, params = validated_kind(sub.kind, sub.params)
    refuse_inline_keys(params)
    cost = credits_cost(session, sub.tenant_id, params) + sub.extra_credits
    if kind.takes_input and not (sub.input_file_id or sub.input_url):
        raise Rejected("input_file_id", f"{kind.name} needs input_file_id or input_url")
    if sub.input_file_id:
        try:
            get_file(session, sub.tenant_id, sub.input_file_id)
        except FileNotFound:
            raise Rejected("input_file_id", "no such file") from None
    new = NewJob(
        tenant_id=sub.tenant_id,
        kind=kind.name,
        queue=kind.queue,
        params=params,
        max_attempts=settings.max_attempts,
        input_file_id=sub.input_file_id,
        input_url=sub.input_url,
        callback_url=sub.callback_url,
        batch_id=sub.batch_id,
        idempotency_key=sub.idempotency_key,
        request_hash=request_hash(sub) if sub.idempotency_key else None,
        dialect=sub.dialect,
        job_id=sub.job_id,
        priority=settings.priority_for(sub.dialect) if sub.priority is None else sub.priority,
    )
    job, created = jobs.create_job(session, new)
    if not created:
        return job, False
    if cost:
        credits.reserve(session, sub.tenant_id, job.id, cost)
    audit.record(session, "job.create", actor, sub.tenant_id, job.id, request_id, kind=job.kind)
    released = dispatch.release(session, [job.queue])
    session.commit()
    dispatch.send(released)
    return job, True


async def wait_for_end(
    load: Callable[[], JobView], wait_s: float, every_s: float = 0.1
) -> JobView | None:
    """The job once it has ended, reading it with `load` (in a thread) every `every_s`;
    None if `wait_s` passes first. For dialects whose requests wait for their job."""
    deadline = time.monotonic() + wait_s
    while True:
        job = await run_in_threadpool(load)
        if job.state in FINAL_STATES:
            return job
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(every_s)
