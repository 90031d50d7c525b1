"""Every job kind the farm runs: its function, queue and params schema."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from tasks.convert import ConvertParams, run_convert
from tasks.design import DesignParams, run_design
from tasks.image import ImageParams, run_image
from tasks.noop import NoopParams, run_noop
from tasks.ppt import PptParams, run_ppt
from tasks.thumbnail import ThumbnailParams, run_thumbnail
from tasks.types import JobFunction
from tasks.video import VideoParams, run_video
from tasks.writing import WritingParams, run_writing


@dataclass(frozen=True)
class JobKind:
    """A job kind: what runs it, where it queues, what params it takes."""

    name: str
    run: JobFunction
    queue: str
    params: type[BaseModel]
    takes_input: bool = False


KINDS: dict[str, JobKind] = {
    kind.name: kind
    for kind in (
        JobKind(name="noop", run=run_noop, queue="cad", params=NoopParams),
        JobKind(
            name="convert", run=run_convert, queue="cad", params=ConvertParams, takes_input=True
        ),
        JobKind(
            name="thumbnail",
            run=run_thumbnail,
            queue="render",
            params=ThumbnailParams,
            takes_input=True,
        ),
        # An image pattern's file comes as the job's input; other patterns need none.
        JobKind(name="design", run=run_design, queue="design", params=DesignParams),
        JobKind(name="video", run=run_video, queue="media", params=VideoParams),
        JobKind(name="ppt", run=run_ppt, queue="media", params=PptParams),
        JobKind(name="writing", run=run_writing, queue="media", params=WritingParams),
        JobKind(name="image", run=run_image, queue="design", params=ImageParams),
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
