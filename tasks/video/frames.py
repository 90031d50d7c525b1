"""The still pictures a video is made of: a title card and one card per scene, each on
a background chosen by the scene's position, and the blend between two of them."""

from __future__ import annotations

import colorsys

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from tasks.content import Scene
from tasks.video.captions import Box, draw_text

Picture = npt.NDArray[np.uint8]
GOLDEN = 0.6180339887  # hue step: neighbouring scenes never share a colour family
TEXT = "#ffffff"
MUTED = "#e6e6e6"
CAPTION_BAND = (0, 0, 0, 120)  # a translucent band keeps white text legible on any hue


def background(index: int, width: int, height: int) -> Picture:
    """A vertical gradient from a deep to a lighter shade of the hue for card `index`
    (the title card is -1): the same picture for the same arguments."""
    hue = (0.58 + index * GOLDEN) % 1.0
    top = np.array(colorsys.hsv_to_rgb(hue, 0.65, 0.30)) * 255
    bottom = np.array(colorsys.hsv_to_rgb(hue, 0.55, 0.70)) * 255
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    column = (top + (bottom - top) * ramp).astype(np.uint8)
    return np.ascontiguousarray(np.broadcast_to(column, (height, width, 3)))


def title_card(title: str, width: int, height: int) -> Picture:
    """The video's title, large and centred."""
    image = Image.fromarray(background(-1, width, height))
    box = Box(width * 0.1, height * 0.3, width * 0.8, height * 0.4)
    draw_text(ImageDraw.Draw(image), title, box, round(height * 0.12), TEXT)
    return np.asarray(image)


def scene_card(scene: Scene, index: int, width: int, height: int) -> Picture:
    """Scene `index` (0-based): its title across the top, its caption in a band below."""
    image = Image.fromarray(background(index, width, height)).convert("RGBA")
    band = Image.new("RGBA", image.size, (0, 0, 0, 0))
    ImageDraw.Draw(band).rounded_rectangle(
        (width * 0.06, height * 0.5, width * 0.94, height * 0.92),
        radius=max(2, height // 40),
        fill=CAPTION_BAND,
    )
    image = Image.alpha_composite(image, band).convert("RGB")
    draw = ImageDraw.Draw(image)
    title_box = Box(width * 0.06, height * 0.08, width * 0.88, height * 0.16)
    draw_text(draw, scene.title, title_box, round(height * 0.09), MUTED)
    caption_box = Box(width * 0.1, height * 0.54, width * 0.8, height * 0.34)
    draw_text(draw, scene.caption, caption_box, round(height * 0.08), TEXT)
    return np.asarray(image)


def blend(before: Picture, after: Picture, weight: float) -> Picture:
    """`after` shown at `weight` (0 to 1) over `before`."""
    share = round(weight * 256)
    mixed = before.astype(np.uint16) * (256 - share) + after.astype(np.uint16) * share
    return (mixed >> 8).astype(np.uint8)
