"""The content API's writing tools: the list, and generation waited for up to a bound.

`POST /api/v1/writing/{tool_type}/generate` answers the text itself when it is written
within `content_wait_s`, else its `creation_id` with status "processing", to poll at
`GET /api/v1/writing/{creation_id}/status`. A text costs its tool's price plus its
model's `credits_cost`, reserved at submit and refunded if writing fails.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api_stub.bounds import SQL_INT_MAX
from api_stub.content.envelope import ContentError, ok
from api_stub.content.generation import load, start, waited_answer
from api_stub.deps import CallerDep, RequestIdDep, SessionDep, SettingsDep
from api_stub.submission import wait_for_end
from config.settings import Settings
from storage.jobs import JobView
from tasks.writing import TOOLS

router = APIRouter(prefix="/api/v1/writing", tags=["content"])

ToolType = Annotated[str, Path(max_length=40)]


class WritingRequest(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    keywords: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=20
    )
    requirements: str = Field(default="", max_length=2000)
    model_id: int = Field(ge=1, le=SQL_INT_MAX)


@router.get("/tools")
def writing_tools(caller: CallerDep) -> dict[str, Any]:
    """The fourteen writing tools with their prices."""
    return ok(
        [
            {
                "type": t.type,
                "name": t.name,
                "description": t.description,
                "credits_cost": t.credits_cost,
            }
            for t in TOOLS.values()
        ]
    )


@router.post("/{tool_type}/generate")
async def generate_writing(
    tool_type: ToolType,
    body: WritingRequest,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> dict[str, Any]:
    """Write with the tool, waiting up to `content_wait_s`; past that, the id to poll."""
    tool = TOOLS.get(tool_type)
    if tool is None:
        raise ContentError(404, f"资源不存在: writing tool {tool_type}")
    params = {"tool_type": tool_type, **body.model_dump()}
    job = await run_in_threadpool(
        start,
        session,
        settings,
        caller,
        request_id,
        "writing",
        params,
        body.model_id,
        tool.credits_cost,
    )
    finished = await wait_for_end(
        lambda: load(caller.tenant_id, job.id, settings, "writing"), settings.content_wait_s
    )
    return await run_in_threadpool(writing_answer, finished or job, settings)


@router.get("/{creation_id}/status")
def writing_status(creation_id: str, caller: CallerDep, settings: SettingsDep) -> dict[str, Any]:
    return writing_answer(load(caller.tenant_id, creation_id, settings, "writing"), settings)


def writing_answer(job: JobView, settings: Settings) -> dict[str, Any]:
    """Written: the text and its cost; failed: the error in the envelope; else processing."""
    return waited_answer(
        job, settings, "creation_id", lambda: {"content": (job.result or {}).get("content")}
    )
