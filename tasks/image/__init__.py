"""Pictures (`design` queue): a prompt and a size (`1024x1024`) → `image.png`, drawn by
the farm's generative artwork (`tasks.image.render`). A registered model names the
price; a model that is not local is refused, as no remote image endpoint is spoken."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tasks.content import LOCAL, ModelSpec
from tasks.errors import ModelUnavailable
from tasks.image.render import picture_style, render_picture
from tasks.types import JobContext, JobOutcome

__all__ = ["ImageParams", "parse_size", "run_image"]
IMAGE_NAME = "image.png"
MIN_SIDE_PX, MAX_SIDE_PX = 64, 2048
SIZE = re.compile(r"^(\d{1,5})[xX*×](\d{1,5})$")


def parse_size(size: str) -> tuple[int, int]:
    """`"1024x768"` as (1024, 768); `ValueError` unless both sides are within bounds."""
    match = SIZE.match(size.strip())
    if match is None:
        raise ValueError("size is WIDTHxHEIGHT in pixels, e.g. 1024x1024")
    width, height = int(match.group(1)), int(match.group(2))
    if not all(MIN_SIDE_PX <= side <= MAX_SIDE_PX for side in (width, height)):
        raise ValueError(f"each side of size is {MIN_SIDE_PX} to {MAX_SIDE_PX} pixels")
    return width, height


class ImageParams(BaseModel):
    """A picture to draw. `model` None: the farm's generative artwork."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str = Field(min_length=1, max_length=1000)
    size: str = Field(default="1024x1024", max_length=20)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    model: ModelSpec | None = None
    model_id: int | None = None

    @field_validator("size")
    @classmethod
    def _bounded(cls, size: str) -> str:
        width, height = parse_size(size)
        return f"{width}x{height}"


def run_image(ctx: JobContext) -> JobOutcome:
    """Draw the picture; the result holds its size and the style read from the prompt."""
    params = ctx.params
    assert isinstance(params, ImageParams)
    if params.model is not None and params.model.provider != LOCAL:
        raise ModelUnavailable(f"{params.model.provider} image endpoints are not supported")
    width, height = parse_size(params.size)
    ctx.progress(0, "drawing")
    path = ctx.workdir / IMAGE_NAME
    render_picture(params.prompt, width, height, params.seed).save(path, "PNG", optimize=True)
    ctx.progress(100, "drawn")
    style = picture_style(params.prompt, params.seed)
    return JobOutcome(
        result={"width": width, "height": height, "motif": str(style.motif), "mood": style.mood},
        outputs=(path,),
    )
