"""Params of `image`: a prompt, a size (`1024x1024`), a seed and the model to draw with."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tasks.content import ModelSpec

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
