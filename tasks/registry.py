"""Every job kind the farm runs: its function, queue and params schema.

The API imports this module to validate params, so it imports only light params
modules; each kind's function (and the libraries it draws, encodes or meshes with) is
imported by the first process that runs one, a worker.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache

from pydantic import BaseModel

from tasks.noop import NoopParams
from tasks.params.convert import ConvertParams
from tasks.params.design import DesignParams
from tasks.params.image import ImageParams
from tasks.params.ppt import PptParams
from tasks.params.thumbnail import ThumbnailParams
from tasks.params.video import VideoParams
from tasks.types import JobFunction
from tasks.writing import WritingParams


@cache
def resolve_runner(path: str) -> JobFunction:
    """The function `path` names as `module:function`, imported on first use."""
    module, _, name = path.partition(":")
    run: JobFunction = getattr(importlib.import_module(module), name)
    return run


@dataclass(frozen=True)
class JobKind:
    """A job kind: what runs it (`module:function`), where it queues, what params it takes."""

    name: str
    runner: str
    queue: str
    params: type[BaseModel]
    takes_input: bool = False

    @property
    def run(self) -> JobFunction:
        """The kind's function, imported the first time it is asked for."""
        return resolve_runner(self.runner)


KINDS: dict[str, JobKind] = {
    kind.name: kind
    for kind in (
        JobKind(name="noop", runner="tasks.noop:run_noop", queue="cad", params=NoopParams),
        JobKind(
            name="convert",
            runner="tasks.convert:run_convert",
            queue="cad",
            params=ConvertParams,
            takes_input=True,
        ),
        JobKind(
            name="thumbnail",
            runner="tasks.thumbnail:run_thumbnail",
            queue="render",
            params=ThumbnailParams,
            takes_input=True,
        ),
        # An image pattern's file comes as the job's input; other patterns need none.
        JobKind(
            name="design", runner="tasks.design:run_design", queue="design", params=DesignParams
        ),
        JobKind(name="video", runner="tasks.video:run_video", queue="media", params=VideoParams),
        JobKind(name="ppt", runner="tasks.ppt:run_ppt", queue="media", params=PptParams),
        JobKind(
            name="writing",
            runner="tasks.writing:run_writing",
            queue="media",
            params=WritingParams,
        ),
        JobKind(name="image", runner="tasks.image:run_image", queue="design", params=ImageParams),
    )
}


class UnknownKind(KeyError):
    """No job kind has this name."""


def get_kind(name: str) -> JobKind:
    """The job kind called `name`, or `UnknownKind`."""
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownKind(name) from None
