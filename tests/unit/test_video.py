"""The `video` job kind: its timeline, caption layout, params, the MP4 it writes (12 s of
a Chinese script, reopened and decoded) and what it leaves behind when it fails."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from pydantic import ValidationError

from config.settings import DEFAULT_TIME_LIMITS
from tasks.content import Scene
from tasks.design.lettering import NOT_A_CHARACTER, glyph_bitmap, missing_glyphs
from tasks.registry import get_kind
from tasks.types import JobContext, JobOutcome
from tasks.video import VIDEO_NAME, VideoParams, run_video
from tasks.video.captions import Box, set_text, tokens, wrap
from tasks.video.frames import blend, scene_card
from tasks.video.timeline import Span, card_spans, fade_frames, total_frames

ACTS = "第一幕：清晨的城市醒来。第二幕：人们走进地铁。第三幕：夜晚灯火通明。"


def video(tmp_path: Path, progress: Any = None, **overrides: Any) -> JobOutcome:
    fields: dict[str, Any] = {"script": ACTS, "duration": 4, "width": 320, "height": 180}
    params = VideoParams.model_validate({**fields, **overrides})
    extra = {"progress": progress} if progress else {}
    return run_video(JobContext(params=params, workdir=tmp_path, **extra))


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.fixture(scope="module")
def acceptance(tmp_path_factory: pytest.TempPathFactory) -> JobOutcome:
    """The 12-second video of the three acts at the default 1280×720, 25 fps."""
    workdir = tmp_path_factory.mktemp("video")
    return run_video(JobContext(params=VideoParams(script=ACTS, duration=12), workdir=workdir))


# --- Pure parts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "fps", "frames", "spans"),
    [
        (
            [1.8, 3.4, 3.4, 3.4],
            25,
            300,
            [(0, 45, 0), (45, 130, 12), (130, 215, 12), (215, 300, 12)],
        ),
        ([0.5, 0.5], 2, 2, [(0, 1, 0), (1, 2, 0)]),
        ([0.01, 0.99], 25, 25, [(0, 0, 0), (0, 25, 0)]),
        ([0.3, 0.3, 0.4], 10, 10, [(0, 3, 0), (3, 6, 1), (6, 10, 1)]),
        ([1.0, 1.0000004], 30, 60, [(0, 30, 0), (30, 60, 15)]),
    ],
)
def test_card_spans_cover_every_frame_once(
    seconds: list[float], fps: int, frames: int, spans: list[tuple[int, int, int]]
) -> None:
    got = card_spans(seconds, fps, frames)
    assert [(s.start, s.stop, s.fade) for s in got] == spans
    assert got[-1].stop == frames


@pytest.mark.parametrize(
    ("before", "after", "fps", "fade"),
    [(100, 100, 25, 12), (100, 6, 25, 3), (1, 100, 25, 0), (100, 100, 60, 30), (10, 10, 1, 0)],
)
def test_a_fade_lasts_half_a_second_at_most_half_a_card(
    before: int, after: int, fps: int, fade: int
) -> None:
    assert fade_frames(before, after, fps) == fade


@pytest.mark.parametrize(
    ("duration_s", "fps", "frames"), [(12, 25, 300), (1, 1, 1), (1.01, 30, 30), (600, 60, 36000)]
)
def test_total_frames(duration_s: float, fps: int, frames: int) -> None:
    assert total_frames(duration_s, fps) == frames


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("清晨的城市。", ["清", "晨", "的", "城", "市。"]),
        ("Hello, big world!", ["Hello,", " ", "big", " ", "world!"]),
        ("地铁 Metro，到了", ["地", "铁", " ", "Metro，", "到", "了"]),
    ],
)
def test_tokens_keep_closing_marks_with_the_word_before(text: str, pieces: list[str]) -> None:
    assert tokens(text) == pieces


@pytest.mark.parametrize(
    ("text", "count", "lines"),
    [
        ("人们走进地铁。", 1, ["人们走进地铁。"]),
        ("清晨的城市醒来。人们走进地铁。", 2, ["清晨的城市醒来。", "人们走进地铁。"]),
        ("The quick brown fox jumps", 2, ["The quick brown", "fox jumps"]),
        ("短", 3, ["短"]),
    ],
)
def test_wrap_breaks_into_lines_of_about_equal_width(
    text: str, count: int, lines: list[str]
) -> None:
    assert wrap(text, count) == lines


def test_long_captions_take_more_lines_and_a_smaller_size() -> None:
    box = Box(0, 0, 800, 240)
    short, long = set_text("人们走进地铁。", box, 200), set_text("人们走进地铁。" * 12, box, 200)
    assert len(short.lines) == 1 and len(long.lines) > 1
    assert long.size_px < short.size_px
    assert len(long.lines) * long.size_px * 1.3 <= box.height


def test_blend_moves_from_one_picture_to_the_other() -> None:
    black, white = np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 255, np.uint8)
    assert blend(black, white, 0.0).max() == 0
    assert 120 <= blend(black, white, 0.5).min() <= 135
    assert blend(black, white, 1.0).min() >= 254


@pytest.mark.parametrize("ch", sorted(set("清晨的城市醒来人们走进地铁夜晚灯火通明第一二三幕")))
def test_caption_characters_draw_as_real_glyphs(ch: str) -> None:
    bitmap = glyph_bitmap(ch)
    assert any(bitmap)
    assert bitmap != glyph_bitmap(NOT_A_CHARACTER)


def test_a_caption_card_has_inked_text_in_its_band() -> None:
    card = scene_card(Scene("第一幕", "清晨的城市醒来。", 3), 0, 640, 360)
    band = card[200:320, 70:570]
    white = np.all(band > 235, axis=2)
    assert 0.03 < white.mean() < 0.6


@pytest.mark.parametrize(
    "overrides",
    [
        {"script": ""},
        {"script": "   "},
        {"script": "字" * 5001},
        {"duration": 0.5},
        {"duration": 601},
        {"width": 321},
        {"width": 2000},
        {"height": 1082},
        {"fps": 0},
        {"fps": 61},
        {"model": {"provider": "qwen"}},
    ],
)
def test_params_refuse(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        VideoParams.model_validate({"script": ACTS, "duration": 12, **overrides})


def test_params_defaults() -> None:
    params = VideoParams(script=ACTS, duration=30)
    assert (params.width, params.height, params.fps, params.model) == (1280, 720, 25, None)


def test_video_is_registered_on_the_media_queue() -> None:
    kind = get_kind("video")
    assert (kind.queue, kind.params, kind.takes_input) == ("media", VideoParams, False)
    assert DEFAULT_TIME_LIMITS["video"].soft_s == 1800


# --- The MP4 ------------------------------------------------------------------------------


def test_acceptance_video_lasts_twelve_seconds_within_a_frame(
    acceptance: JobOutcome,
) -> None:
    outcome = acceptance
    [path] = outcome.outputs
    assert path.name == VIDEO_NAME
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (1280, 720)
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.frames == 300
        assert stream.average_rate is not None
        assert abs(stream.frames / float(stream.average_rate) - 12) <= 1 / 25
        assert container.duration is not None
        assert abs(container.duration / av.time_base - 12) <= 1 / 25


def test_acceptance_result_describes_the_scenes(acceptance: JobOutcome) -> None:
    result = acceptance.result
    assert {k: result[k] for k in ("duration_s", "frames", "width", "height", "fps")} == {
        "duration_s": 12.0,
        "frames": 300,
        "width": 1280,
        "height": 720,
        "fps": 25,
    }
    scenes = result["scenes"]
    assert [s["title"] for s in scenes] == ["第一幕", "第二幕", "第三幕"]
    assert scenes[-1]["start_s"] + scenes[-1]["seconds"] == pytest.approx(12)
    for before, after in itertools.pairwise(scenes):
        assert before["start_s"] + before["seconds"] == pytest.approx(after["start_s"])
    assert missing_glyphs("".join(s["caption"] for s in scenes)) == []


def test_acceptance_scenes_differ_and_show_captions(acceptance: JobOutcome) -> None:
    outcome = acceptance
    middles = {round((s["start_s"] + s["seconds"] / 2) * 25) for s in outcome.result["scenes"]}
    frames = [f for i, f in enumerate(decoded(outcome.outputs[0])) if i in middles]
    assert len(frames) == 3
    for a, b in itertools.pairwise(frames):
        assert np.abs(a.astype(int) - b.astype(int)).mean() > 10
    for frame in frames:
        caption = frame[380:640, 130:1150]
        assert np.all(caption > 220, axis=2).mean() > 0.02


def test_fades_blend_between_cards(tmp_path: Path) -> None:
    outcome = video(tmp_path)
    first = outcome.result["scenes"][0]
    start = round(first["start_s"] * 25)
    frames = decoded(outcome.outputs[0])
    before, fading, settled = frames[start - 1], frames[start + 2], frames[start + 8]
    assert np.abs(fading.astype(int) - before.astype(int)).mean() > 3
    assert np.abs(fading.astype(int) - settled.astype(int)).mean() > 3


def test_progress_rises_to_one_hundred(tmp_path: Path) -> None:
    reports: list[tuple[float, str]] = []
    video(tmp_path, progress=lambda c, s: reports.append((c, s)))
    completions = [c for c, _ in reports]
    assert completions == sorted(completions)
    assert "encoding" in {s for _, s in reports}
    assert reports[-1] == (100, "written")
    assert len(reports) < 110


def test_a_run_that_fails_mid_encode_leaves_no_file(tmp_path: Path) -> None:
    class Cancelled(Exception):
        pass

    def progress(completion: float, stage: str) -> None:
        if completion > 50:
            raise Cancelled

    with pytest.raises(Cancelled):
        video(tmp_path, progress=progress)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("duration", "fps"), [(1, 1), (1, 60), (7.33, 24)])
def test_frame_count_is_duration_times_fps(tmp_path: Path, duration: float, fps: int) -> None:
    outcome = video(tmp_path, duration=duration, fps=fps, width=64, height=36)
    assert outcome.result["frames"] == round(duration * fps)
    assert len(decoded(outcome.outputs[0])) == round(duration * fps)


def test_span_frames() -> None:
    assert Span(3, 10, 2).frames == 7
