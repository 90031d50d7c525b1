"""Videos (`media` queue): a script → an H.264 MP4 of captioned scenes. The content model
the params name cuts the script into timed scenes; each scene is drawn once as a still
card and held, with a short cross-fade from the card before."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import av

from tasks.content import Scene, model_for, split_sentences, to_piece
from tasks.params.video import VideoParams
from tasks.types import JobContext, JobOutcome, Progress
from tasks.video.encoding import PIXEL_FORMAT, Mp4Writer
from tasks.video.frames import Picture, blend, scene_card, title_card
from tasks.video.timeline import Span, card_spans, fade_weight, title_seconds, total_frames

__all__ = ["VideoParams", "run_video"]
log = logging.getLogger(__name__)
VIDEO_NAME = "video.mp4"
TITLE_CHARS = 40
ENCODING_FROM, ENCODING_TO = 5.0, 99.0  # the progress range frames are reported in


def run_video(ctx: JobContext) -> JobOutcome:
    """Write `video.mp4` (`round(duration * fps)` frames: a title card, then the scenes)
    and return its facts: duration, frames, size, fps and each scene's timing."""
    params = ctx.params
    assert isinstance(params, VideoParams)
    title_s = title_seconds(params.duration)
    scenes = model_for(params.model, ctx.http).scenes(params.script, params.duration - title_s)
    ctx.progress(ENCODING_FROM, "scenes")
    title = params.title or default_title(params.script)
    frames = total_frames(params.duration, params.fps)
    spans = card_spans([title_s, *(s.seconds for s in scenes)], params.fps, frames)

    def card(index: int) -> Picture:
        if index == 0:
            return title_card(title, params.width, params.height)
        return scene_card(scenes[index - 1], index - 1, params.width, params.height)

    out = ctx.workdir / VIDEO_NAME
    started = time.perf_counter()
    with Mp4Writer(out, params.width, params.height, params.fps) as writer:
        write_cards(writer, spans, card, ctx.progress)
    elapsed_s = time.perf_counter() - started
    log.info("video: %d frames encoded at %.1fx real time", frames, frames / params.fps / elapsed_s)
    ctx.progress(100, "written")
    return JobOutcome(result=describe(params, title, scenes, spans), outputs=(out,))


def default_title(script: str) -> str:
    """The script's first sentence, without a scene heading, shortened to `TITLE_CHARS`."""
    first = to_piece(split_sentences(script)[0]).text
    return first if len(first) <= TITLE_CHARS else first[: TITLE_CHARS - 1] + "…"


def write_cards(
    writer: Mp4Writer, spans: list[Span], card: Callable[[int], Picture], progress: Progress
) -> None:
    """Each card's frames in order: its picture drawn and converted once and written for
    every frame it holds; only the frames of a fade are blended and converted anew."""
    total = spans[-1].stop
    before: Picture | None = None
    for index, span in enumerate(spans):
        if not span.frames:
            continue
        picture = card(index)
        still = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format=PIXEL_FORMAT)
        for offset in range(span.frames):
            if offset < span.fade and before is not None:
                mixed = blend(before, picture, fade_weight(offset, span.fade))
                writer.write(av.VideoFrame.from_ndarray(mixed, format="rgb24"))
            else:
                writer.write(still)
            _report(progress, span.start + offset + 1, total)
        before = picture


def _report(progress: Progress, written: int, total: int) -> None:
    # Once per percent: a report may cost a database write.
    share = (ENCODING_TO - ENCODING_FROM) / total
    if int(written * share) != int((written - 1) * share) or written == total:
        progress(ENCODING_FROM + written * share, "encoding")


def describe(
    params: VideoParams, title: str, scenes: list[Scene], spans: list[Span]
) -> dict[str, Any]:
    """The job's result. Times are those of the frames written: each scene starts on the
    frame nearest the time the model gave it."""
    fps = params.fps
    return {
        "duration_s": spans[-1].stop / fps,
        "frames": spans[-1].stop,
        "width": params.width,
        "height": params.height,
        "fps": fps,
        "title": title,
        "scenes": [
            {
                "title": scene.title,
                "caption": scene.caption,
                "start_s": span.start / fps,
                "seconds": span.frames / fps,
            }
            for scene, span in zip(scenes, spans[1:], strict=True)
        ],
    }
