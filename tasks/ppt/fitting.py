"""How text fits a slide's text box: the largest font size at which it fits, else the
floor size with the text cut short and ended with an ellipsis. Pure: no fonts are read.

The rule estimates widths instead of measuring glyphs (python-pptx's `fit_text` needs the
font files, which a worker may not have): an East Asian wide character is one em wide,
any other character `NARROW_EM`, and a line holds `LINE_FILL` of the box's width, the
rest left for word wrap's ragged ends. Lines are `LINE_HEIGHT` ems apart.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

NARROW_EM = 0.55  # wider than most Latin sans glyphs average (~0.5), so estimates err long
LINE_FILL = 0.9
LINE_HEIGHT = 1.25
SIZE_STEP_PT = 2
ELLIPSIS = "…"
# Dropped before an ellipsis, which would otherwise follow a comma or a full stop.
TRAILING_PUNCTUATION = " ,.;:，。；：、"


@dataclass(frozen=True)
class TextBox:
    """Where text goes: the box's inner size in points, and the font sizes it may use."""

    width_pt: float
    height_pt: float
    max_pt: int
    min_pt: int


@dataclass(frozen=True)
class FittedText:
    """Text ready for its box: one string per paragraph, and the size to set it in."""

    size_pt: int
    paragraphs: tuple[str, ...]
    truncated: bool = False


def char_em(char: str) -> float:
    """The estimated width of `char` in ems: 1 for East Asian wide or fullwidth ones."""
    return 1.0 if unicodedata.east_asian_width(char) in ("W", "F") else NARROW_EM


def text_em(text: str) -> float:
    """The estimated width of `text` set on one line, in ems."""
    return sum(char_em(c) for c in text)


def is_east_asian(text: str) -> bool:
    """Whether `text` holds any East Asian wide or fullwidth character (Chinese, say)."""
    return any(char_em(c) == 1.0 for c in text)


def line_capacity_em(box: TextBox, size_pt: int) -> float:
    """How many ems of text one line of `box` holds at `size_pt`."""
    return box.width_pt * LINE_FILL / size_pt


def line_count(box: TextBox, size_pt: int) -> int:
    """How many lines `box` holds at `size_pt` (at least one)."""
    return max(1, math.floor(box.height_pt / (size_pt * LINE_HEIGHT)))


def lines_needed(paragraphs: tuple[str, ...], box: TextBox, size_pt: int) -> int:
    """Lines the paragraphs take in `box` at `size_pt`; an empty paragraph takes one."""
    capacity = line_capacity_em(box, size_pt)
    return sum(paragraph_lines(p, capacity) for p in paragraphs)


def sizes(box: TextBox) -> range:
    """The sizes to try, largest first, `SIZE_STEP_PT` apart, down to `box.min_pt`."""
    return range(box.max_pt, box.min_pt - 1, -SIZE_STEP_PT)


def fit_text(paragraphs: tuple[str, ...], box: TextBox) -> FittedText:
    """The largest size in `sizes(box)` at which every paragraph fits; if none does,
    `box.min_pt` with the paragraphs cut where the box is full, the last one kept ending
    in `ELLIPSIS`. Runs of whitespace in a paragraph become one space, none at its ends."""
    cleaned = tuple(" ".join(p.split()) for p in paragraphs)
    for size in sizes(box):
        if lines_needed(cleaned, box, size) <= line_count(box, size):
            return FittedText(size, cleaned)
    return FittedText(box.min_pt, truncate(cleaned, box, box.min_pt), truncated=True)


def truncate(paragraphs: tuple[str, ...], box: TextBox, size_pt: int) -> tuple[str, ...]:
    """The paragraphs that fit `box` at `size_pt`, the last one shortened to the lines left
    and ending in `ELLIPSIS`; later paragraphs are dropped."""
    capacity = line_capacity_em(box, size_pt)
    lines_left = line_count(box, size_pt)
    kept: list[str] = []
    for paragraph in paragraphs:
        needed = paragraph_lines(paragraph, capacity)
        if needed > lines_left:
            break
        kept.append(paragraph)
        lines_left -= needed
    else:
        return tuple(kept)
    if lines_left == 0:  # the box is full: the ellipsis goes on the last paragraph kept
        paragraph = kept.pop()
        lines_left = paragraph_lines(paragraph, capacity)
    return (*kept, shorten(paragraph, lines_left * capacity))


def paragraph_lines(paragraph: str, capacity_em: float) -> int:
    """Lines a paragraph takes where a line holds `capacity_em`; an empty one takes one."""
    return max(1, math.ceil(text_em(paragraph) / capacity_em))


def shorten(text: str, budget_em: float) -> str:
    """The start of `text` and a closing `ELLIPSIS`, together at most `budget_em` ems wide.
    The cut falls at a word boundary when one lies in the last fifth of what is kept;
    Chinese, which has none, is cut between characters."""
    room = budget_em - char_em(ELLIPSIS)
    kept, width = "", 0.0
    for char in text:
        width += char_em(char)
        if width > room:
            break
        kept += char
    space = kept.rfind(" ")
    if space > len(kept) * 4 // 5:
        kept = kept[:space]
    return kept.rstrip(TRAILING_PUNCTUATION) + ELLIPSIS
