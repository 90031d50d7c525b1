"""Plain data passed between the farm and a job kind."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import requests
from pydantic import BaseModel


class Progress(Protocol):
    """Called by a job kind as it works; `completion` runs from 0 to 100."""

    def __call__(self, completion: float, stage: str) -> None: ...


def no_progress(completion: float, stage: str) -> None:
    """A progress callback that drops every report."""


@dataclass(frozen=True)
class JobContext:
    """What a job kind gets: its inputs, validated params and a place to write."""

    params: BaseModel
    workdir: Path
    inputs: tuple[Path, ...] = ()
    attempt: int = 1
    progress: Progress = no_progress
    # For URLs a client supplied (a registered model's endpoint): the farm's session, which
    # refuses internal addresses in prod. None: the kind uses plain requests.
    http: requests.Session | None = None


@dataclass(frozen=True)
class JobOutcome:
    """What a job kind returns: files it wrote under `workdir`, and metadata."""

    result: dict[str, Any] = field(default_factory=dict)
    outputs: tuple[Path, ...] = ()


JobFunction = Callable[[JobContext], JobOutcome]
