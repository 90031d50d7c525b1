"""The content API's image generation, waited for up to a bound.

`POST /api/v1/image/generate` answers the picture's URL when it is drawn within
`content_wait_s`, else its `image_id` with status "processing", to poll at
`GET /api/v1/image/{image_id}/status`. A picture costs its model's `credits_cost`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from api_stub.bounds import SQL_INT_MAX
from api_stub.content.generation import load, output_url, start, waited_answer
from api_stub.deps import CallerDep, RequestIdDep, SessionDep, SettingsDep
from api_stub.submission import wait_for_end
from config.settings import Settings
from storage.jobs import JobView
from tasks.params.image import parse_size

router = APIRouter(prefix="/api/v1/image", tags=["content"])


class ImageRequest(BaseModel):
    prompt: str = Field(min_length=1, max_length=1000)
    size: str = Field(default="1024x1024", max_length=20, examples=["1024x1024"])
    model_id: int = Field(ge=1, le=SQL_INT_MAX)

    @field_validator("size")
    @classmethod
    def _bounded(cls, size: str) -> str:
        width, height = parse_size(size)
        return f"{width}x{height}"


@router.post("/generate")
async def generate_image(
    body: ImageRequest,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> dict[str, Any]:
    """Draw the picture, waiting up to `content_wait_s`; past that, the id to poll."""
    params = body.model_dump()
    job = await run_in_threadpool(
        start, session, settings, caller, request_id, "image", params, body.model_id
    )
    finished = await wait_for_end(
        lambda: load(caller.tenant_id, job.id, settings, "image"), settings.content_wait_s
    )
    return await run_in_threadpool(image_answer, finished or job, settings)


@router.get("/{image_id}/status")
def image_status(image_id: str, caller: CallerDep, settings: SettingsDep) -> dict[str, Any]:
    return image_answer(load(caller.tenant_id, image_id, settings, "image"), settings)


def image_answer(job: JobView, settings: Settings) -> dict[str, Any]:
    """Drawn: the picture's URL and cost; failed: the error in the envelope; else processing."""
    return waited_answer(
        job, settings, "image_id", lambda: {"image_url": output_url(job, settings)}
    )
