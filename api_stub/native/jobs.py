"""Native jobs API: submit, read, list and cancel jobs."""

from __future__ import annotations

import logging
from contextlib import closing
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from starlette.concurrency import run_in_threadpool

from api_stub.bounds import SQL_INT_MAX
from api_stub.callers import Principal
from api_stub.deps import CallerDep, RequestIdDep, SessionDep, SettingsDep
from api_stub.native.schemas import JobCreate, JobPage, JobPublic
from api_stub.native.signed import SignedPrincipal
from api_stub.problems import Problem, field_error
from api_stub.submission import Rejected, Submission, submit
from config.settings import Settings
from storage import audit, dispatch, jobs
from storage.credits import InsufficientCredits
from storage.db import get_sessionmaker, read_scope
from storage.jobs import IdempotencyConflict, JobNotFound, JobView
from storage.states import IllegalTransition, JobState
from storage.urls import download_links
from workers import dispatch as dispatcher
from workers.enqueue import BROKER_ERRORS, send_deliveries
from workers.revoke import stop_running

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
log = logging.getLogger(__name__)


def public(job: JobView, settings: Settings) -> JobPublic:
    return JobPublic.of(job, download_links(settings))


def default_callback(caller: Principal) -> str | None:
    """Where a job given no `callback_url` reports: a signed app's default webhook."""
    return caller.webhook_url if isinstance(caller, SignedPrincipal) else None


def not_found(job_id: str) -> Problem:
    return Problem(404, f"job {job_id} not found", "not-found")


@router.post("", status_code=202, response_model=JobPublic)
async def create_job(
    body: JobCreate,
    caller: CallerDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JobPublic:
    """Queue a job. The same `Idempotency-Key` again returns the first job, not a new one."""
    if body.input_file_id and body.input_url:
        raise Problem(
            422,
            "give input_file_id or input_url, not both",
            "validation-error",
            errors=[{"field": "input_url", "message": "conflicts with input_file_id"}],
        )
    sub = Submission(
        tenant_id=caller.tenant_id,
        kind=body.kind,
        params=body.params,
        input_file_id=body.input_file_id,
        input_url=str(body.input_url) if body.input_url else None,
        callback_url=str(body.callback_url) if body.callback_url else default_callback(caller),
        idempotency_key=idempotency_key,
        priority=body.priority,
    )
    job, created = await run_in_threadpool(submitted, sub, settings, request_id, caller.key_id)
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return public(job, settings)


def submitted(
    sub: Submission, settings: Settings, request_id: str | None, actor: str
) -> tuple[JobView, bool]:
    """`submit` in a session of its own, its refusals as problems. The route runs this
    in one thread hop, so the session's whole life (and every blocking call) is in it."""
    with closing(get_sessionmaker(settings.sql_url)()) as session:
        try:
            return submit(session, sub, settings, request_id, actor=actor)
        except Rejected as exc:
            raise field_error(422, exc.field, exc.message) from None
        except InsufficientCredits as exc:
            raise Problem(
                402,
                f"insufficient credits: {exc.needed} needed, {exc.balance} available",
                "insufficient-credits",
            ) from None
        except IdempotencyConflict:
            raise Problem(
                409,
                "this Idempotency-Key was used with a different request",
                "idempotency-conflict",
            ) from None


@router.get("", response_model=JobPage)
async def list_jobs(
    caller: CallerDep,
    settings: SettingsDep,
    state: JobState | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=SQL_INT_MAX)] = 0,
) -> JobPage:
    """The caller's jobs, newest first."""
    return await run_in_threadpool(read_page, settings, caller.tenant_id, state, limit, offset)


def read_page(
    settings: Settings, tenant_id: str, state: JobState | None, limit: int, offset: int
) -> JobPage:
    """One page of the tenant's jobs, read in a session of its own (one thread hop)."""
    with read_scope(settings.sql_url) as session:
        items, total = jobs.list_jobs(session, tenant_id, state, limit, offset)
    return JobPage(
        items=[public(j, settings) for j in items], total=total, limit=limit, offset=offset
    )


@router.get("/{job_id}", response_model=JobPublic)
async def get_job(job_id: str, caller: CallerDep, settings: SettingsDep) -> JobPublic:
    return await run_in_threadpool(read_job, settings, caller.tenant_id, job_id)


def read_job(settings: Settings, tenant_id: str, job_id: str) -> JobPublic:
    """The tenant's job as the API shows it, read in a session of its own: the route
    runs this in one thread hop for the whole read."""
    with read_scope(settings.sql_url) as session:
        try:
            job = jobs.get_job(session, tenant_id, job_id)
        except JobNotFound:
            raise not_found(job_id) from None
        return JobPublic.of(job, download_links(settings), dispatch.position(session, job))


@router.post("/{job_id}/cancel", response_model=JobPublic)
def cancel_job(
    job_id: str,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> JobPublic:
    """Cancel a queued or running job; a running job's worker process is stopped."""
    try:
        done = jobs.cancel(session, caller.tenant_id, job_id)
    except JobNotFound:
        raise not_found(job_id) from None
    except IllegalTransition as exc:
        raise Problem(409, f"job {job_id} already ended ({exc.current})", "job-ended") from None
    audit.record(session, "job.cancel", caller.key_id, caller.tenant_id, job_id, request_id)
    # A released or running job frees its slot now, whatever its process does next.
    released = dispatcher.release(session, [done.job.queue])
    session.commit()
    dispatcher.send(released)
    try:
        stop_running(done.job)
    except BROKER_ERRORS:
        # The run sees the cancel at its next progress report or heartbeat instead.
        log.warning("could not broadcast the stop of job %s", job_id)
    send_deliveries(done.delivery_ids)
    return public(done.job, settings)
