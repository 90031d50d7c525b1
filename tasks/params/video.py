"""Params of `video`: the script, its length, the content model and the frame format."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tasks.content import ModelSpec


class VideoParams(BaseModel):
    """Params of `video`."""

    script: str = Field(min_length=1, max_length=5000, pattern=r"\S")
    duration: float = Field(ge=1, le=600, description="seconds")
    model: ModelSpec | None = Field(default=None, description="None: the farm's local model")
    model_id: int | None = Field(
        default=None,
        description="a registered model; the worker resolves it into `model` when the job "
        "runs, so its API key is never stored with the job",
    )
    title: str | None = Field(
        default=None, min_length=1, max_length=100, description="None: the first sentence"
    )
    width: int = Field(default=1280, ge=16, le=1920, multiple_of=2, description="pixels")
    height: int = Field(default=720, ge=16, le=1080, multiple_of=2, description="pixels")
    fps: int = Field(default=25, ge=1, le=60, description="frames a second")
