"""The content API's generation endpoints: videos (asynchronous, polled) and decks (waited
for up to a bound). Each reserves its model's credits at submit; the job's end charges
or refunds them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api_stub.bounds import SQL_INT_MAX
from api_stub.callers import Principal
from api_stub.content.envelope import (
    GENERATION_FAILED,
    INSUFFICIENT_CREDITS,
    MODEL_UNAVAILABLE,
    ContentError,
    ok,
)
from api_stub.deps import CallerDep, ReadSessionDep, RequestIdDep, SessionDep, SettingsDep
from api_stub.submission import Rejected, Submission, submit, wait_for_end
from config.settings import Settings
from storage import content_models, credits, jobs
from storage.content_models import ModelNotFound
from storage.credits import InsufficientCredits
from storage.db import read_scope
from storage.jobs import JobNotFound, JobView
from storage.states import FINAL_STATES, JobState
from storage.urls import download_links

router = APIRouter(prefix="/api/v1", tags=["content"])

DIALECT = "content"
STATUS = {
    JobState.QUEUED: "processing",
    JobState.RUNNING: "processing",
    JobState.SUCCEEDED: "completed",
    JobState.FAILED: "failed",
    JobState.CANCELED: "failed",
}


class VideoRequest(BaseModel):
    script: str = Field(min_length=1, max_length=5000)
    duration: float = Field(gt=0, le=600)
    model_id: int = Field(ge=1, le=SQL_INT_MAX)


class PptRequest(BaseModel):
    topic: str = Field(min_length=1, max_length=200)
    outline: list[str] = Field(min_length=1, max_length=30)
    model_id: int = Field(ge=1, le=SQL_INT_MAX)


@router.post("/video/generate")
def generate_video(
    body: VideoRequest,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> dict[str, Any]:
    """Queue a video; poll GET /api/v1/video/{task_id}/status."""
    params = {"script": body.script, "duration": body.duration, "model_id": body.model_id}
    job = start(session, settings, caller, request_id, "video", params, body.model_id)
    return ok({"task_id": job.id, "status": "processing"}, "任务已创建")


@router.get("/video/{task_id}/status")
def video_status(
    task_id: str, caller: CallerDep, session: ReadSessionDep, settings: SettingsDep
) -> dict[str, Any]:
    job = owned(session, caller.tenant_id, task_id, "video")
    data = {
        "task_id": job.id,
        "status": STATUS[job.state],
        "video_url": output_url(job, settings),
        "credits_used": credits.credits_used(session, job.id),
    }
    return ok(data | failure(job))


@router.post("/ppt/generate")
async def generate_ppt(
    body: PptRequest,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> dict[str, Any]:
    """Make a deck, waiting up to `content_wait_s`; past that, its id to poll."""
    params = {"topic": body.topic, "outline": body.outline, "model_id": body.model_id}
    job = await run_in_threadpool(
        start, session, settings, caller, request_id, "ppt", params, body.model_id
    )
    finished = await wait_for_end(
        lambda: load(caller.tenant_id, job.id, settings), settings.content_wait_s
    )
    return await run_in_threadpool(ppt_answer, finished or job, settings)


@router.get("/ppt/{ppt_id}/status")
def ppt_status(ppt_id: str, caller: CallerDep, settings: SettingsDep) -> dict[str, Any]:
    return ppt_answer(load(caller.tenant_id, ppt_id, settings), settings)


def start(
    session: Session,
    settings: Settings,
    caller: Principal,
    request_id: str | None,
    kind: str,
    params: dict[str, Any],
    model_id: int,
    extra_credits: int = 0,
) -> JobView:
    """Submit the job with its model's credits (and `extra_credits`) reserved; 40001
    (nothing stored or sent) when they are short, 404 for an unknown model, 400 for an
    inactive one."""
    try:
        model = content_models.get(session, caller.tenant_id, model_id)
    except ModelNotFound:
        raise ContentError(404, f"资源不存在: model {model_id}") from None
    if not model.is_active:
        raise ContentError(400, f"请求参数错误: model {model_id} is not active")
    sub = Submission(
        tenant_id=caller.tenant_id,
        kind=kind,
        params=params,
        dialect=DIALECT,
        extra_credits=extra_credits,
    )
    try:
        job, _ = submit(session, sub, settings, request_id, actor=caller.key_id)
    except Rejected as exc:
        raise ContentError(400, f"请求参数错误: {exc.field}: {exc.message}") from None
    except InsufficientCredits as exc:
        raise ContentError(
            INSUFFICIENT_CREDITS,
            f"积分不足: {exc.needed} credits needed, {exc.balance} available",
        ) from None
    return job


def ppt_answer(job: JobView, settings: Settings) -> dict[str, Any]:
    """Made: the deck's URL and cost; failed: the error in the envelope; else processing."""
    return waited_answer(
        job, settings, "ppt_id", lambda: {"download_url": output_url(job, settings)}
    )


def waited_answer(
    job: JobView, settings: Settings, id_field: str, made: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """The answer of a generation that is waited for or polled: succeeded, `made()` with
    its id and cost; failed, the error in the envelope; else processing."""
    with read_scope(settings.sql_url) as session:
        used = credits.credits_used(session, job.id)
    if job.state is JobState.SUCCEEDED:
        return ok({id_field: job.id, **made(), "credits_used": used}, "生成成功")
    if job.state in FINAL_STATES:
        error = failure(job)["error"]
        raise ContentError(error["code"], error["message"])
    return ok({id_field: job.id, "status": "processing", "credits_used": used}, "任务已创建")


def failure(job: JobView) -> dict[str, Any]:
    """`{"error": {code, message}}` for a failed job (40006 when its model failed,
    40007 otherwise; credits refunded), else nothing."""
    if job.state not in (JobState.FAILED, JobState.CANCELED):
        return {}
    code = MODEL_UNAVAILABLE if job.error_code == "model_unavailable" else GENERATION_FAILED
    return {"error": {"code": code, "message": job.error_message or "生成失败"}}


def owned(session: Session, tenant_id: str, job_id: str, kind: str) -> JobView:
    try:
        job = jobs.get_job(session, tenant_id, job_id)
    except JobNotFound:
        job = None
    if job is None or job.kind != kind or job.dialect != DIALECT:
        raise ContentError(404, f"资源不存在: task {job_id}")
    return job


def load(tenant_id: str, job_id: str, settings: Settings, kind: str = "ppt") -> JobView:
    with read_scope(settings.sql_url) as session:
        return owned(session, tenant_id, job_id, kind)


def output_url(job: JobView, settings: Settings) -> str | None:
    if job.state is not JobState.SUCCEEDED or not job.outputs:
        return None
    return download_links(settings)(job.outputs[0]["blob_key"])
