"""Generated artwork as palette indices: a style's motif, turned and folded into its
symmetry, cut to its frame, over a ground and inside an outline if the style has them."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from tasks.design.colours import RGB
from tasks.design.motifs import MOTIFS, Floats
from tasks.design.prompt_style import TURNABLE, Frame, Style

# How far the outline sits outside the frame, and how wide it is, as fractions of the
# frame's size; the frames leave room for it inside the artwork's rectangle.
OUTLINE_GAP, OUTLINE_WIDTH = 0.03, 0.045
FRAME_SIZE = 0.9


def palette(style: Style) -> tuple[RGB, ...]:
    """The inks `generated_indices` refers to, index 1 first (0 is no ink)."""
    return (*style.inks, style.ground) if style.ground else style.inks


def generated_indices(
    style: Style, x: Floats, y: Floats, half_width: float, half_height: float
) -> npt.NDArray[np.uint8]:
    """Palette indices (0: no ink) of the artwork at points (x, y), in units of half the
    artwork's shorter side from its centre; the artwork spans ±half_width, ±half_height."""
    size = frame_size(style.frame, x, y, half_width, half_height)
    mx, my = folded(style, x, y)
    ink = MOTIFS[style.motif](mx, my, style)
    empty = len(style.inks) + 1 if style.ground else 0
    indices = np.where(ink >= 0, ink + 1, empty)
    inside = size <= 1
    if style.outline:
        ring = (size > 1 + OUTLINE_GAP) & (size <= 1 + OUTLINE_GAP + OUTLINE_WIDTH)
        return np.where(inside, indices, np.where(ring, 1, 0)).astype(np.uint8)
    return np.where(inside, indices, 0).astype(np.uint8)


def folded(style: Style, x: Floats, y: Floats) -> tuple[Floats, Floats]:
    """The points turned by the style's angle and folded into its symmetry: mirrored
    left to right, or into one mirrored sector of a kaleidoscope."""
    if style.motif not in TURNABLE:
        return (np.abs(x) if style.symmetry == 2 else x), y
    cos, sin = np.float32(math.cos(style.angle_rad)), np.float32(math.sin(style.angle_rad))
    if style.symmetry <= 2:
        tx = x * cos - y * sin
        tx = np.abs(tx) if style.symmetry == 2 else tx
        return tx, x * sin + y * cos
    sector = np.float32(2 * math.pi / style.symmetry)
    rho = np.hypot(x, y)
    theta = np.arctan2(y, x) % sector
    theta = np.abs(theta - sector / 2) + np.float32(style.angle_rad)
    return rho * np.cos(theta), rho * np.sin(theta)


def frame_size(frame: Frame, x: Floats, y: Floats, half_width: float, half_height: float) -> Floats:
    """How far out each point lies relative to the frame's edge: 1 on the edge, less inside."""
    ax, ay = abs_pair(x, y)
    if frame is Frame.CIRCLE:
        return np.hypot(x, y) / FRAME_SIZE
    if frame is Frame.ROUNDED_SQUARE:
        return np.sqrt(np.sqrt(ax**4 + ay**4)) / FRAME_SIZE
    if frame is Frame.HEXAGON:
        return np.maximum(ax * 0.866 + ay * 0.5, ay) / FRAME_SIZE
    if frame is Frame.DIAMOND:
        return (ax + ay) / (FRAME_SIZE * 1.1)
    if frame is Frame.ARCH:
        bottom = max(half_height, 1.0) * FRAME_SIZE
        shoulder = FRAME_SIZE - bottom  # where the round top meets the straight sides
        top = np.hypot(x, np.minimum(y - shoulder, 0)) / FRAME_SIZE
        return np.maximum(top, np.maximum(ax / FRAME_SIZE, y / bottom))
    return np.maximum(ax / half_width, ay / half_height)


def abs_pair(x: Floats, y: Floats) -> tuple[Floats, Floats]:
    return np.abs(x), np.abs(y)
