"""Params of `thumbnail`: the picture's size and background."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

Side = Annotated[int, Field(ge=1, le=2048, description="pixels")]


class ThumbnailParams(BaseModel):
    """Params of `thumbnail`."""

    width: Side
    height: Side
    background: str = Field(
        default="#ffffff",
        pattern=r"^(#[0-9a-fA-F]{6}|transparent)$",
        description='"#rrggbb", or "transparent" for a PNG whose background has alpha 0',
    )
