"""Text on a video frame: broken into lines and set as large as fits a box, in the font
shipped with the farm (so Chinese draws as real glyphs on any machine)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from PIL import ImageDraw

from tasks.design.lettering import FREETYPE_LOCK, fit_text, font

LINE_PITCH = 1.3  # line spacing in ems: Noto Sans CJK's glyphs fill most of the em
MAX_LINES = 12
MIN_PX = 8
# A Chinese character or full-width mark, a run of other non-space characters, or spaces.
WIDE_CHARS = "\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
TOKEN = re.compile(f"[{WIDE_CHARS}]|[^\\s{WIDE_CHARS}]+|\\s+")
# Marks that must not start a line: they stay with the token before.
CLOSING = set("，。！？；：、）》」』】〕”’,.!?;:)]}")
WIDE = re.compile(
    r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60]"
)


@dataclass(frozen=True)
class Box:
    """A rectangle on a frame, in pixels."""

    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class SetText:
    """Text set for a box: its lines and the font size in pixels."""

    lines: tuple[str, ...]
    size_px: int


def tokens(text: str) -> list[str]:
    """`text` as unbreakable pieces: each Chinese character, each word, each run of
    spaces; closing punctuation joined to the piece before it."""
    pieces: list[str] = []
    for token in TOKEN.findall(text):
        if pieces and token[0] in CLOSING and not pieces[-1].isspace():
            pieces[-1] += token
        else:
            pieces.append(token)
    return pieces


def text_units(text: str) -> int:
    """A width estimate: two units per full-width character, one for any other."""
    return sum(2 if WIDE.match(ch) else 1 for ch in text)


def wrap(text: str, line_count: int) -> list[str]:
    """`text` broken into at most `line_count` lines of about equal width, at token
    boundaries; spaces at line ends dropped."""
    pieces = tokens(text.strip())
    target = text_units(text.strip()) / max(line_count, 1)
    lines: list[str] = [""]
    for piece in pieces:
        # Break where the piece's middle would pass the target: the nearer boundary.
        full = text_units(lines[-1]) + text_units(piece) / 2 > target
        if full and lines[-1].strip() and len(lines) < line_count:
            lines.append("")
        lines[-1] += piece
    return [line.strip() for line in lines if line.strip()]


def set_text(text: str, box: Box, max_px: int) -> SetText:
    """`text` in the line count that lets it be largest in `box`, at most `max_px`."""
    best = SetText((text.strip(),), MIN_PX)
    for count in range(1, MAX_LINES + 1):
        lines = wrap(text, count)
        if len(lines) < count:
            break
        by_height = box.height / (count * LINE_PITCH)
        by_width = min(fit_text(line, box.width, box.height).em_in for line in lines)
        size = int(min(max_px, by_height, by_width))
        if size > best.size_px:
            best = SetText(tuple(lines), size)
    return best


def draw_text(draw: ImageDraw.ImageDraw, text: str, box: Box, max_px: int, fill: str) -> None:
    """`text` set as large as fits `box` (at most `max_px`), each line centred."""
    setting = set_text(text, box, max_px)
    pitch = setting.size_px * LINE_PITCH
    top = box.top + (box.height - pitch * len(setting.lines)) / 2
    with FREETYPE_LOCK:
        face = font(setting.size_px)
        for i, line in enumerate(setting.lines):
            left, _, right, _ = face.getbbox(line)
            x = box.left + (box.width - (right - left)) / 2 - left
            draw.text((x, top + i * pitch), line, font=face, fill=fill)
