"""A picture from a prompt through the farm's generative artwork: the design kind's
style engine reads the prompt (motif, mood, symmetry, frame), and its motifs are drawn
over the whole picture on a white ground. The same prompt and seed draw the same
picture. Pure: no I/O."""

from __future__ import annotations

import numpy as np
from PIL import Image

from tasks.design.colours import RGB
from tasks.design.generative import generated_indices, palette
from tasks.design.prompt_style import Style, style_for

GROUND: RGB = (255, 255, 255)
ROWS_PER_STRIP = 256  # bounds the float arrays of one pass, whatever the picture's size


def picture_style(prompt: str, seed: int) -> Style:
    """The artwork's style for `prompt`, its inks made to show on white."""
    return style_for(prompt, seed, GROUND)


def render_picture(prompt: str, width: int, height: int, seed: int = 0) -> Image.Image:
    """An RGB picture of `width` × `height` pixels drawn from `prompt`."""
    style = picture_style(prompt, seed)
    colours = np.array([GROUND, *palette(style)], dtype=np.uint8)
    half = min(width, height) / 2
    xs = ((np.arange(width, dtype=np.float64) + 0.5 - width / 2) / half).astype(np.float32)
    out = np.empty((height, width, 3), np.uint8)
    for top in range(0, height, ROWS_PER_STRIP):
        rows = np.arange(top, min(top + ROWS_PER_STRIP, height), dtype=np.float64)
        ys = ((rows + 0.5 - height / 2) / half).astype(np.float32)[:, None]
        x, y = np.broadcast_arrays(xs[None, :], ys)
        indices = generated_indices(style, x, y, width / 2 / half, height / 2 / half)
        out[top : top + len(rows)] = colours[indices]
    return Image.fromarray(out, "RGB")
