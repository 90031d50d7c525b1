"""When each card of a video shows, in whole frames: pure arithmetic, no drawing.

A video is a sequence of cards (the title card, then one per scene). Card boundaries
fall on the frame nearest their time, so the frame count is exactly `round(duration *
fps)` and no card drifts by more than half a frame. Each card fades in over the first
frames of its span from the card before it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

TITLE_S = 2.0
TITLE_SHARE = 0.15  # of a short video: the title must not crowd out the scenes
FADE_S = 0.5


@dataclass(frozen=True)
class Span:
    """The frames `start` (inclusive) to `stop` (exclusive) of a video, and how many of the
    first ones fade in from the card before."""

    start: int
    stop: int
    fade: int = 0

    @property
    def frames(self) -> int:
        return self.stop - self.start


def title_seconds(duration_s: float) -> float:
    """How long the title card shows in a video of `duration_s`."""
    return min(TITLE_S, duration_s * TITLE_SHARE)


def total_frames(duration_s: float, fps: int) -> int:
    """The frame count of a video of `duration_s` at `fps` (at least one)."""
    return max(1, round(duration_s * fps))


def card_spans(seconds: list[float], fps: int, frames: int) -> list[Span]:
    """Consecutive spans covering `frames` frames, one per card lasting `seconds` (which
    add up to the video's duration; the last span ends at `frames` whatever the rounding).
    A card too short for a frame gets an empty span."""
    ends = [min(frames, round(t * fps)) for t in itertools.accumulate(seconds)]
    ends[-1] = frames
    starts = [0, *ends[:-1]]
    spans: list[Span] = []
    shown: Span | None = None
    for start, stop in zip(starts, ends, strict=True):
        span = Span(start, max(start, stop))
        if span.frames and shown is not None:
            span = Span(span.start, span.stop, fade_frames(shown.frames, span.frames, fps))
        spans.append(span)
        shown = span if span.frames else shown
    return spans


def fade_frames(before: int, after: int, fps: int) -> int:
    """How many frames a card fades in over: `FADE_S`, and at most half of either card."""
    return max(0, min(round(FADE_S * fps), before // 2, after // 2))


def fade_weight(index: int, fade: int) -> float:
    """How much of the new card frame `index` (0-based) of a `fade`-frame fade shows:
    strictly between 0 and 1, rising."""
    return (index + 1) / (fade + 1)
