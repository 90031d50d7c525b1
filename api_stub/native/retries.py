"""Native jobs API: retry ended jobs, one or by filter, and list the dead letters.

Its router goes before the jobs router: `/v1/jobs/dead-letter` is not a job id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api_stub.bounds import SQL_INT_MAX
from api_stub.deps import CallerDep, RequestIdDep, SessionDep, SettingsDep
from api_stub.native.jobs import not_found, public
from api_stub.native.schemas import (
    DeadLetter,
    DeadLetterPage,
    JobPublic,
    RetryRequest,
    RetryResult,
)
from api_stub.problems import Problem
from config.settings import Settings
from storage import audit, retries
from storage.db import read_scope
from storage.jobs import JobNotFound
from storage.retries import CreditsSettled, Retried, RetryFilter
from storage.states import IllegalTransition, JobState
from workers import dispatch as dispatcher

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.post("/retry", response_model=RetryResult)
def retry_jobs(
    body: RetryRequest,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> RetryResult:
    """Start over up to `limit` of your failed (or canceled) jobs the filter selects,
    oldest first; `more` says whether others matched. Jobs that reserved credits are
    left out."""
    wanted = RetryFilter(
        state=JobState(body.state),
        kind=body.kind,
        batch_id=body.batch_id,
        created_after=body.created_after,
        created_before=body.created_before,
        limit=body.limit,
    )
    done, more = retries.retry_matching(session, caller.tenant_id, wanted, settings.max_attempts)
    commit_retries(session, done, caller.key_id, request_id, bulk=True)
    return RetryResult(count=len(done), ids=[r.job.id for r in done], more=more)


@router.get("/dead-letter", response_model=DeadLetterPage)
async def list_dead_letters(
    caller: CallerDep,
    settings: SettingsDep,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=SQL_INT_MAX)] = 0,
) -> DeadLetterPage:
    """Your failed jobs, which the farm will not run again unless retried, latest to
    fail first, each with its attempts and last error."""
    return await run_in_threadpool(
        read_dead_letters, settings, caller.tenant_id, kind, limit, offset
    )


def read_dead_letters(
    settings: Settings, tenant_id: str, kind: str | None, limit: int, offset: int
) -> DeadLetterPage:
    with read_scope(settings.sql_url) as session:
        items, total = retries.dead_letters(session, tenant_id, limit, offset, kind)
    return DeadLetterPage(
        items=[DeadLetter.of(j) for j in items], total=total, limit=limit, offset=offset
    )


@router.post("/{job_id}/retry", status_code=202, response_model=JobPublic)
def retry_job(
    job_id: str,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> JobPublic:
    """Start a failed or canceled job over: a new attempt of the same job, queued again
    with its error cleared. Any other state is 409, as is a job that reserved credits."""
    try:
        done = retries.retry(session, caller.tenant_id, job_id, settings.max_attempts)
    except JobNotFound:
        raise not_found(job_id) from None
    except IllegalTransition as exc:
        raise Problem(
            409,
            f"job {job_id} is {exc.current}: only a failed or canceled job is retried",
            "job-not-retryable",
        ) from None
    except CreditsSettled:
        raise Problem(
            409,
            f"job {job_id} reserved credits, settled when it ended: submit it again",
            "credits-settled",
        ) from None
    commit_retries(session, [done], caller.key_id, request_id)
    return public(done.job, settings)


def commit_retries(
    session: Session,
    done: list[Retried],
    actor: str,
    request_id: str | None,
    bulk: bool = False,
) -> None:
    """Audit each job started over, release what their queues have room for, commit,
    then send the released jobs' messages."""
    for retried in done:
        job = retried.job
        detail = {"from": retried.previous.value, "attempts": job.attempts, "bulk": bulk}
        audit.record(session, "job.retry", actor, job.tenant_id, job.id, request_id, **detail)
    released = dispatcher.release(session, {r.job.queue for r in done})
    session.commit()
    dispatcher.send(released)
