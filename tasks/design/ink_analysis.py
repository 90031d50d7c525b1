"""What a design's artwork measures, from a coarse drawing of it: its inks and the area
each covers, where the ink reaches, how sharp an image prints, and its text. The
feasibility rules and the material counts read these numbers, never the pixels."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from tasks.design.artwork import Artwork, Canvas, draw
from tasks.design.colours import RGB
from tasks.design.garments import Rect
from tasks.design.lettering import fit_text, missing_glyphs
from tasks.design.params import DesignParams

ANALYSIS_PPI = 25.0  # an analysis pixel is 1 mm: enough to count inks and find edges
MAX_ANALYSIS_PIXELS = 400_000
IMAGE_INKS = 16  # an image's colours are counted after reducing it to this many
MIN_IMAGE_INK_SHARE = 0.01  # an image colour covering less of the ink is a blend, not an ink


@dataclass(frozen=True)
class InkArea:
    """One ink and the area it covers, in square inches."""

    rgb: RGB
    area_sq_in: float


@dataclass(frozen=True)
class Analysis:
    """The artwork's measures. `inks` largest first; `ink_bounds` and `print_area` in
    inches from the print area's top-left corner (None: no ink at all); `pixel_in` is
    how coarse the measure is; `effective_dpi` is an image's pixels per printed inch."""

    inks: tuple[InkArea, ...]
    colour_count: int
    inked_sq_in: float
    ink_bounds: Rect | None
    print_area: Rect
    pixel_in: float
    effective_dpi: float | None = None
    text_ink: RGB | None = None
    text_height_in: float | None = None
    missing_glyphs: tuple[str, ...] = ()


def analyse(params: DesignParams, artwork: Artwork) -> Analysis:
    """Measure `artwork` (of `params`) from a drawing of its print area and its box,
    which may reach beyond it, at about `ANALYSIS_PPI`."""
    layout = artwork.layout
    region = layout.area.union(layout.box)
    ppi = min(ANALYSIS_PPI, math.sqrt(MAX_ANALYSIS_PIXELS / (region.width * region.height)))
    canvas = Canvas(region, ppi)
    drawn = draw(artwork, canvas)
    inks, covered = ink_areas(drawn, ppi)
    text = artwork.text
    return Analysis(
        inks=inks,
        colour_count=len(inks),
        inked_sq_in=sum(i.area_sq_in for i in inks),
        ink_bounds=_bounds(covered, canvas),
        print_area=layout.area,
        pixel_in=1 / ppi,
        effective_dpi=artwork.source_px[0] / layout.pattern.width if artwork.source_px else None,
        text_ink=artwork.text_ink,
        text_height_in=fit_text(text, layout.text.width, layout.text.height).height_in
        if text and layout.text
        else None,
        missing_glyphs=tuple(missing_glyphs(text)) if text else (),
    )


def ink_areas(drawn: Image.Image, ppi: float) -> tuple[tuple[InkArea, ...], np.ndarray]:
    """Each ink of a drawing and its area, largest first, and where any ink is. A "P"
    drawing's inks are its palette's; an RGBA one's are its colours reduced to
    `IMAGE_INKS`, leaving out those too rare to be more than blends."""
    if drawn.mode == "P":
        indices = np.asarray(drawn)
        palette = drawn.getpalette() or []
        covered = indices > 0
        floor = 1
    else:
        rgba = np.asarray(drawn)
        covered = rgba[:, :, 3] >= 128
        indices, palette = _reduced(rgba[covered][:, :3])
        floor = max(1, int(MIN_IMAGE_INK_SHARE * covered.sum()))
    counts = np.bincount(indices.ravel(), minlength=1)
    areas: dict[RGB, float] = {}
    for index in np.flatnonzero(counts[1:] >= floor) + 1:
        rgb = (palette[3 * index], palette[3 * index + 1], palette[3 * index + 2])
        areas[rgb] = areas.get(rgb, 0.0) + counts[index] / ppi**2
    ranked = sorted(areas.items(), key=lambda item: (-item[1], item[0]))
    return tuple(InkArea(rgb, area) for rgb, area in ranked), covered


def _reduced(pixels: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Inked pixels' colours reduced to `IMAGE_INKS`: their indices from 1, and a
    palette whose entry 0 stands for no ink."""
    if not len(pixels):
        return np.zeros(1, np.int32), [0, 0, 0]
    row = Image.fromarray(np.ascontiguousarray(pixels.reshape(1, -1, 3)), "RGB")
    reduced = row.quantize(IMAGE_INKS, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    return np.asarray(reduced).astype(np.int32).ravel() + 1, [
        0,
        0,
        0,
        *(reduced.getpalette() or []),
    ]


def _bounds(covered: np.ndarray, canvas: Canvas) -> Rect | None:
    rows, cols = np.flatnonzero(covered.any(axis=1)), np.flatnonzero(covered.any(axis=0))
    if not len(rows):
        return None
    ppi, region = canvas.px_per_in, canvas.region
    left, top = region.left + cols[0] / ppi, region.top + rows[0] / ppi
    return Rect(left, top, (cols[-1] + 1 - cols[0]) / ppi, (rows[-1] + 1 - rows[0]) / ppi)
