"""Pictures (`design` queue): a prompt and a size (`1024x1024`) → `image.png`, drawn by
the farm's generative artwork (`tasks.image.render`) for a local model, or by an
OpenAI-compatible images endpoint registered as a model (`tasks.image.remote`)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tasks.content import LOCAL, ModelSpec
from tasks.image.remote import ImagesModel
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
    width, height = parse_size(params.size)
    ctx.progress(0, "drawing")
    path = ctx.workdir / IMAGE_NAME
    spec = params.model
    if spec is None or spec.provider == LOCAL:
        picture = render_picture(params.prompt, width, height, params.seed)
        style = picture_style(params.prompt, params.seed)
        drawn_by = {"motif": str(style.motif), "mood": style.mood}
    else:
        assert spec.api_base is not None
        model = ImagesModel(spec.api_base, spec.api_key, spec.model_name, spec.timeout_s, ctx.http)
        picture, drawn_by = model.draw(params.prompt, width, height), {"model": spec.model_name}
    picture.save(path, "PNG", optimize=True)
    ctx.progress(100, "drawn")
    return JobOutcome(result={"width": width, "height": height, **drawn_by}, outputs=(path,))
