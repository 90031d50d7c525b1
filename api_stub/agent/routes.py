"""The agent API's resources: jobs, batches and capacity, each scoped to the merchant
the call names, lists as DRF limit/offset pages, URLs ending in "/" as the seed's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL

from api_stub.agent.merchants import MerchantDep
from api_stub.agent.pages import WindowDep, drf_page
from api_stub.agent.resources import batch_resource, job_resource
from api_stub.capacity import capacity_for
from api_stub.deps import ReadSessionDep, SettingsDep
from api_stub.errors import InvalidInput, NotFound
from config.settings import Settings
from storage import batches, jobs
from storage.batches import BatchNotFound
from storage.jobs import JobNotFound
from storage.states import JobState
from storage.urls import download_links
from tasks.registry import KINDS

router = APIRouter(tags=["agent"])

ResourceId = Annotated[str, Path(max_length=40)]


def page_url(request: Request, settings: Settings) -> URL:
    """The request's own URL, under the farm's public base URL when one is set."""
    if not settings.public_base_url:
        return request.url
    base = URL(settings.base_url)
    return request.url.replace(scheme=base.scheme, netloc=base.netloc)


@router.get("/jobs/")
def list_jobs(
    request: Request,
    merchant: MerchantDep,
    page: WindowDep,
    session: ReadSessionDep,
    settings: SettingsDep,
    state: JobState | None = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    """The merchant's jobs, newest first, optionally of one state and one kind."""
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"kind: unknown job kind {kind!r}", field="kind")
    found, count = jobs.list_jobs(
        session, merchant.tenant_id, state, page.limit, page.offset, kind=kind
    )
    link = download_links(settings)
    results = [job_resource(job, merchant.merchant_id, link) for job in found]
    return drf_page(page_url(request, settings), count, page, results)


@router.get("/jobs/{job_id}/")
def read_job(
    job_id: ResourceId, merchant: MerchantDep, session: ReadSessionDep, settings: SettingsDep
) -> dict[str, Any]:
    try:
        job = jobs.get_job(session, merchant.tenant_id, job_id)
    except JobNotFound:
        raise NotFound(f"job {job_id} not found") from None
    return job_resource(job, merchant.merchant_id, download_links(settings))


@router.get("/batches/")
def list_batches(
    request: Request,
    merchant: MerchantDep,
    page: WindowDep,
    session: ReadSessionDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """The merchant's batches, newest first."""
    found, count = batches.list_batches(session, merchant.tenant_id, page.limit, page.offset)
    results = [batch_resource(batch, merchant.merchant_id) for batch in found]
    return drf_page(page_url(request, settings), count, page, results)


@router.get("/batches/{batch_id}/")
def read_batch(
    batch_id: ResourceId, merchant: MerchantDep, session: ReadSessionDep
) -> dict[str, Any]:
    """A batch with how many of its jobs are in each state."""
    try:
        batch = batches.get_batch(session, merchant.tenant_id, batch_id)
    except BatchNotFound:
        raise NotFound(f"batch {batch_id} not found") from None
    counts = batches.state_counts(session, batch.id)
    return batch_resource(batch, merchant.merchant_id, counts)


@router.get("/capacity/")
async def read_capacity(merchant: MerchantDep, settings: SettingsDep) -> dict[str, Any]:
    """Per job queue: waiting, running, workers online, throughput over the window, and
    the merchant's backlog there with its ETA in seconds (null without throughput)."""
    queues = await run_in_threadpool(capacity_for, merchant.tenant_id, settings)
    return {
        "merchant_id": merchant.merchant_id,
        "throughput_window_s": settings.capacity_window_s,
        "queues": [queue.as_dict() for queue in queues],
    }
