"""The image kind: sizes, pictures from prompts, and the remote images client against a
local server."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from tasks.errors import ModelUnavailable
from tasks.image import ImageParams, parse_size
from tasks.image.remote import ImagesModel
from tasks.image.render import render_picture
from tests.chat_server import serve_chat


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


def png_b64(width: int, height: int) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def images_answer(b64: str) -> bytes:
    return json.dumps({"data": [{"b64_json": b64}]}).encode()


@pytest.mark.parametrize("answered", [(64, 64), (128, 96)])
def test_a_remote_picture_is_fitted_to_the_size_asked(answered: tuple[int, int]) -> None:
    with serve_chat() as server:
        server.body = images_answer(png_b64(*answered))
        picture = ImagesModel(server.url, "sk-x", "wanx").draw("a cat", 64, 64)

    assert picture.size == (64, 64) and picture.getpixel((5, 5)) == (200, 30, 30)
    sent = server.requests[0]
    assert sent["path"] == "/v1/images/generations"
    assert sent["json"]["size"] == "64x64" and sent["json"]["prompt"] == "a cat"


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b"{}"), (200, b'{"data": []}'), (200, images_answer(base64.b64encode(b"no").decode()))],
)
def test_a_remote_answer_that_is_no_picture_is_model_unavailable(status: int, body: bytes) -> None:
    with serve_chat() as server, pytest.raises(ModelUnavailable):
        server.status, server.body = status, body
        ImagesModel(server.url, "sk-x", "wanx").draw("a cat", 64, 64)
