"""Text set on a design, in the font shipped with the farm (Noto Sans CJK SC Bold), so
Chinese and Latin text draw as real glyphs on any machine, with or without fonts."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from tasks.design.garments import Rect

FONT_PATH = Path(__file__).parent / "fonts" / "NotoSansCJKsc-Bold.otf"
REFERENCE_PX = 100  # text is measured at this size and scaled, as outlines scale exactly
PROBE_PX = 24
NOT_A_CHARACTER = "\U0010fffd"  # a private-use code point no font maps: draws .notdef
# A FreeType face must not be used by two threads at once, and the API assesses designs
# in a thread pool: every use of a cached face holds this lock (each takes a few ms).
FREETYPE_LOCK = threading.Lock()


@functools.lru_cache(maxsize=32)
def font(size_px: int) -> ImageFont.FreeTypeFont:
    """The shipped font at `size_px`. Basic layout (no HarfBuzz): the same glyphs and
    positions on every machine whether or not Pillow was built with libraqm."""
    return ImageFont.truetype(str(FONT_PATH), size_px, layout_engine=ImageFont.Layout.BASIC)


@dataclass(frozen=True)
class TextFit:
    """Text fitted into a rectangle: its em size and its inked extent, in inches."""

    em_in: float
    width_in: float
    height_in: float


def fit_text(content: str, width_in: float, height_in: float) -> TextFit:
    """The largest size at which `content` fits a `width_in` × `height_in` box on one line."""
    with FREETYPE_LOCK:
        left, top, right, bottom = font(REFERENCE_PX).getbbox(content)
    ink_w, ink_h = max(right - left, 1), max(bottom - top, 1)
    scale = min(width_in / ink_w, height_in / ink_h)
    return TextFit(REFERENCE_PX * scale, ink_w * scale, ink_h * scale)


def text_mask(
    content: str, box: Rect, origin: tuple[float, float], px_per_in: float, shape: tuple[int, int]
) -> npt.NDArray[np.bool_]:
    """Where the text's ink falls on a canvas of `shape` (rows, columns) whose top-left
    corner is at `origin` (inches), drawn at `px_per_in`: the text as large as fits
    `box` and centred in it."""
    fit = fit_text(content, box.width, box.height)
    size_px = max(1, round(fit.em_in * px_per_in))
    centre_x = (box.centre[0] - origin[0]) * px_per_in
    centre_y = (box.centre[1] - origin[1]) * px_per_in
    canvas = Image.new("L", (shape[1], shape[0]), 0)
    with FREETYPE_LOCK:
        face = font(size_px)
        left, top, right, bottom = face.getbbox(content)
        at = (centre_x - (left + right) / 2, centre_y - (top + bottom) / 2)
        ImageDraw.Draw(canvas).text(at, content, font=face, fill=255)
    return np.asarray(canvas) >= 128


def missing_glyphs(content: str) -> list[str]:
    """The characters of `content` the font has no glyph for (they would print as boxes)."""
    box = glyph_bitmap(NOT_A_CHARACTER)
    return sorted({ch for ch in content if not ch.isspace() and glyph_bitmap(ch) == box})


def glyph_bitmap(ch: str, size_px: int = PROBE_PX) -> bytes:
    """The pixels of one character drawn alone on a small canvas."""
    canvas = Image.new("L", (size_px * 2, size_px * 2), 0)
    with FREETYPE_LOCK:
        ImageDraw.Draw(canvas).text((size_px // 4, 0), ch, font=font(size_px), fill=255)
    return canvas.tobytes()
