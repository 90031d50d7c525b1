"""smartmanu's endpoints: tokens, design generation, alternatives, async batches.

Each route authenticates, calls one function of the farm and answers in the seed's
envelope: `{"status": "success" | "processing" | "error", "data": ...}`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Header, Query
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api_stub.bounds import SQL_INT_MAX
from api_stub.capacity import capacity_for
from api_stub.deps import CallerDep, ReadSessionDep, RequestIdDep, SessionDep, SettingsDep
from api_stub.smartmanu import intake
from api_stub.smartmanu.auth import issue_token, key_and_secret
from api_stub.smartmanu.errors import SmartmanuError, bad_request
from api_stub.smartmanu.schemas import BatchRequest, DesignRequest, TokenRequest
from api_stub.smartmanu.shapes import smartmanu_design, smartmanu_error
from api_stub.submission import Rejected, Submission, submit, wait_for_end
from config.settings import Settings
from storage import audit, batches, jobs, tenants
from storage.batches import BatchNotFound
from storage.db import read_scope
from storage.jobs import JobNotFound, JobView
from storage.states import FINAL_STATES, JobState
from storage.urls import download_links
from workers import dispatch

router = APIRouter(tags=["smartmanu"])

HTTP_STATUS = {5003: 422, 400: 400}


@router.post("/auth/token")
def create_token(
    body: TokenRequest, session: ReadSessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """An hour-long bearer token for an API key and its secret."""
    caller = tenants.authenticate(session, key_and_secret(body.api_key, body.secret))
    if caller is None:
        raise SmartmanuError(401, "unknown api_key or wrong secret")
    issued = issue_token(caller, settings.access_token_secret, settings.smartmanu_token_ttl_s)
    return {"token": issued.token, "expires_in": issued.expires_in}


@router.post("/v2/design/generate")
async def generate_design(
    body: DesignRequest,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> JSONResponse:
    """Run a design on the farm, waiting up to `design_wait_s` for it; past that, the
    design id and `processing`, to poll at GET /v2/design/{design_id}."""
    job = intake.design_job(caller.tenant_id, body, settings)
    sub = Submission(
        tenant_id=job.tenant_id,
        kind=job.kind,
        params=job.params,
        input_file_id=job.input_file_id,
        dialect=job.dialect,
        job_id=job.job_id,
    )
    try:
        created, _ = await run_in_threadpool(
            submit, session, sub, settings, request_id, caller.key_id
        )
    except Rejected as exc:
        raise bad_request(exc.message, field=exc.field) from None
    finished = await wait_for_end(
        lambda: load_design(caller.tenant_id, created.id, settings), settings.design_wait_s
    )
    return design_response(finished or created, settings)


@router.get("/v2/design/{design_id}")
def read_design(design_id: str, caller: CallerDep, settings: SettingsDep) -> JSONResponse:
    """A design's state: success with its files, error, or still processing."""
    return design_response(load_design(caller.tenant_id, design_id, settings), settings)


@router.post("/v2/design/alternative")
async def alternative_designs(
    body: DesignRequest, caller: CallerDep, settings: SettingsDep
) -> dict[str, Any]:
    """Feasible variants of a request: fewer colours, another process or placement."""
    # Imported here: feasibility draws with numpy and Pillow, which no other route needs.
    from tasks.design.feasibility import alternatives

    params = intake.design_params(body)
    image = await run_in_threadpool(
        intake.image_facts, caller.tenant_id, body.image_file_id(), settings
    )
    found = await run_in_threadpool(alternatives, params, image)
    return {
        "status": "success",
        "data": {"alternatives": [intake.as_request(p) for p in found]},
    }


@router.post("/v2/async/batch")
def create_batch(
    body: BatchRequest,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
    background: BackgroundTasks,
    x_callback_url: Annotated[str | None, Header(max_length=2048)] = None,
) -> dict[str, Any]:
    """Take up to `max_batch_tasks` designs at once: all validated, stored in one
    transaction with the release of what the queue has room for, answered at once; the
    released messages go out after the answer, the rest as capacity frees."""
    if x_callback_url is not None:
        intake.check_callback_url(x_callback_url)
    tasks = intake.batch_jobs(session, caller.tenant_id, body.tasks, settings)
    batch_id = intake.new_public_id("BAT")
    batch, queues = batches.create_batch(
        session, batch_id, caller.tenant_id, intake.DIALECT, x_callback_url, tasks
    )
    audit.record(
        session,
        "batch.create",
        caller.key_id,
        caller.tenant_id,
        batch.id,
        request_id,
        total=len(tasks),
    )
    released = dispatch.release(session, queues)
    session.commit()
    background.add_task(dispatch.send, released)
    return {
        "status": "success",
        "data": {"batch_id": batch.id, "total": batch.total, "status": "queued"},
    }


@router.get("/v2/async/batch/{batch_id}")
def read_batch(
    batch_id: str,
    caller: CallerDep,
    session: ReadSessionDep,
    settings: SettingsDep,
    page: Annotated[int, Query(ge=1, le=SQL_INT_MAX)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """The batch's counts by state and one page of its tasks, ordered by task_id."""
    try:
        batch = batches.get_batch(session, caller.tenant_id, batch_id)
    except BatchNotFound:
        raise SmartmanuError(404, f"batch {batch_id} not found") from None
    counts = batches.state_counts(session, batch.id)
    page_jobs = batches.tasks_page(session, batch.id, page_size, (page - 1) * page_size)
    return {
        "status": "success",
        "data": {
            "batch_id": batch.id,
            "total": batch.total,
            "queued": counts[JobState.QUEUED],
            "running": counts[JobState.RUNNING],
            "succeeded": counts[JobState.SUCCEEDED],
            "failed": counts[JobState.FAILED] + counts[JobState.CANCELED],
            "completed": batch.completed_at is not None,
            "page": page,
            "page_size": page_size,
            "tasks": [task_entry(job, settings) for job in page_jobs],
        },
    }


@router.get("/v2/capacity")
async def read_capacity(caller: CallerDep, settings: SettingsDep) -> dict[str, Any]:
    """产能查询 (capacity query): per job queue, what waits and runs, the workers online,
    the jobs finished per minute lately, and the caller's backlog there with its ETA."""
    queues = await run_in_threadpool(capacity_for, caller.tenant_id, settings)
    return {
        "status": "success",
        "data": {
            "throughput_window_s": settings.capacity_window_s,
            "queues": [queue.as_dict() for queue in queues],
        },
    }


def load_design(tenant_id: str, design_id: str, settings: Settings) -> JobView:
    with read_scope(settings.sql_url) as session:
        try:
            job = jobs.get_job(session, tenant_id, design_id)
        except JobNotFound:
            job = None
    if job is None or job.dialect != intake.DIALECT:
        raise SmartmanuError(404, f"design {design_id} not found")
    return job


def design_response(job: JobView, settings: Settings) -> JSONResponse:
    """success (200), error (the code's status: 5003 → 422) or processing (202)."""
    if job.state is JobState.SUCCEEDED:
        body = {"status": "success", "data": smartmanu_design(job, download_links(settings))}
        return JSONResponse(body)
    if job.state in FINAL_STATES:
        error = smartmanu_error(job)
        return JSONResponse(error, status_code=HTTP_STATUS.get(error["code"], 500))
    data = {
        "design_id": job.id,
        "completion": job.completion,
        "stage": job.stage,
        "progress_url": f"/ws/progress?order_id={job.id}",
    }
    return JSONResponse({"status": "processing", "data": data}, status_code=202)


def task_entry(job: JobView, settings: Settings) -> dict[str, Any]:
    entry: dict[str, Any] = {"task_id": job.client_ref, "design_id": job.id}
    if job.state is JobState.SUCCEEDED:
        return {
            **entry,
            "status": "success",
            "data": smartmanu_design(job, download_links(settings)),
        }
    if job.state in FINAL_STATES:
        return {**entry, **smartmanu_error(job)}
    return {**entry, "status": job.state.value}
