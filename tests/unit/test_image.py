"""The image kind's pure parts: sizes and pictures from prompts."""

from __future__ import annotations

import pytest

from tasks.image import ImageParams, parse_size
from tasks.image.render import render_picture


@pytest.mark.parametrize(
    ("size", "parsed"),
    [("1024x1024", (1024, 1024)), ("640X480", (640, 480)), ("64*2048", (64, 2048))],
)
def test_a_size_is_width_by_height(size: str, parsed: tuple[int, int]) -> None:
    assert parse_size(size) == parsed


@pytest.mark.parametrize("size", ["1024", "63x100", "100x2049", "axb", "-5x5"])
def test_a_size_out_of_bounds_or_malformed_is_refused(size: str) -> None:
    with pytest.raises(ValueError, match="size"):
        ImageParams(prompt="p", size=size)


def test_a_picture_has_the_size_asked_and_is_not_blank() -> None:
    picture = render_picture("ocean waves at night", 300, 200)

    assert picture.size == (300, 200)
    assert len(picture.getcolors(1 << 16) or []) >= 3


def test_the_same_prompt_and_seed_draw_the_same_picture() -> None:
    first = render_picture("星空下的山脉", 128, 96, seed=3)

    assert first.tobytes() == render_picture("星空下的山脉", 128, 96, seed=3).tobytes()
    assert first.tobytes() != render_picture("星空下的山脉", 128, 96, seed=4).tobytes()
