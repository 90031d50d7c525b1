"""Params of `convert`: the format a model or drawing is converted to."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

TargetFormat = Literal["e3dx", "e2dx"]


class ConvertParams(BaseModel):
    """Params of `convert`: e3dx (GLB) takes 3D models, e2dx (SVG) takes 2D drawings."""

    target_format: TargetFormat = "e3dx"
