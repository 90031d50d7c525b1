"""A design's artwork, drawn over any rectangle of its print area at any resolution: the
300 dpi print file, the print area of the preview, or a coarse copy to measure.

Positions are in inches from the print area's top-left corner. The artwork sits in its
box (the print area scaled by `scale` and moved by the offsets), the pattern in the top
of the box and the text, if any, in a band under it. Patterns of flat inks (solid,
stripes, generated) are drawn as palette indices ("P" images, index 0 no ink): a spot
colour per index, as a screen printer separates them; an image pattern is drawn as RGBA,
or as indices once reduced to `max_colors`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from tasks.design.colours import RGB, colour_difference, colour_rgb, contrasting_ink, merged_inks
from tasks.design.garments import Rect
from tasks.design.generative import generated_indices, palette
from tasks.design.lettering import text_mask
from tasks.design.params import AiGeneratePattern, DesignParams, SolidPattern, StripesPattern
from tasks.design.prompt_style import style_for

Indices = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.floating[Any]]  # float32 where speed matters
IndexFunction = Callable[[Floats, Floats], Indices]
TEXT_BAND = 0.16  # of the box's height, under the pattern
TEXT_GAP = 0.03
ROWS_PER_STRIP = 96  # rows drawn at once: numpy's temporaries then stay in the CPU's cache
# Generated motifs are worked out at no more than this and each result repeated over the
# finer pixels: four times faster at 300 dpi, and an edge's steps of 1/150 in (0.17 mm)
# are finer than the loops of a jersey knit (about 0.5 mm), so the print cannot show them.
MOTIF_MAX_PPI = 150.0


@dataclass(frozen=True)
class Canvas:
    """A rectangle of the print area (inches) to draw at `px_per_in`."""

    region: Rect
    px_per_in: float

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns."""
        rows = max(1, round(self.region.height * self.px_per_in))
        return rows, max(1, round(self.region.width * self.px_per_in))

    def span(self, rect: Rect) -> tuple[int, int, int, int]:
        """The rows and columns [r0, r1) × [c0, c1) that `rect` covers, clipped to the canvas."""
        rows, cols = self.shape
        ppi, region = self.px_per_in, self.region
        c0 = min(cols, max(0, math.floor((rect.left - region.left) * ppi)))
        c1 = min(cols, max(0, math.ceil((rect.right - region.left) * ppi)))
        r0 = min(rows, max(0, math.floor((rect.top - region.top) * ppi)))
        r1 = min(rows, max(0, math.ceil((rect.bottom - region.top) * ppi)))
        return r0, r1, c0, c1


@dataclass(frozen=True)
class Layout:
    """Where the artwork goes: the print area (corner at 0, 0), the artwork's box, and
    the pattern's and text's rectangles inside it."""

    area: Rect
    box: Rect
    pattern: Rect
    text: Rect | None


@dataclass(frozen=True)
class Artwork:
    """Artwork ready to draw. `inks[i]` is palette index i + 1. `indices` draws a flat-ink
    pattern at positions (inches) from the pattern's centre; an image pattern has
    `source` instead: RGBA, or "P" already reduced to `inks`."""

    layout: Layout
    inks: tuple[RGB, ...]
    indices: IndexFunction | None = None
    indices_max_ppi: float | None = None
    source: Image.Image | None = None
    source_px: tuple[int, int] | None = None
    text: str | None = None
    text_index: int = 0

    @property
    def text_ink(self) -> RGB | None:
        return self.inks[self.text_index - 1] if self.text else None


def layout_for(params: DesignParams, area: Rect, aspect: float | None = None) -> Layout:
    """The layout of `params` over a print area of `area`'s size. An image (`aspect`,
    width over height) keeps its proportions and sits at the top of the box, as chest
    prints do, with the text right under it."""
    area = Rect(0.0, 0.0, area.width, area.height)
    width, height = area.width * params.scale, area.height * params.scale
    cx, cy = area.width / 2 + params.offset_x_in, area.height / 2 + params.offset_y_in
    box = Rect(cx - width / 2, cy - height / 2, width, height)
    band = height * TEXT_BAND if params.text is not None else 0.0
    gap = height * TEXT_GAP if params.text is not None else 0.0
    pattern = Rect(box.left, box.top, width, height - band - gap)
    if aspect is not None:
        pattern = top_contained(pattern, aspect)
    text = Rect(box.left, pattern.bottom + gap, width, band) if params.text is not None else None
    return Layout(area, box, pattern, text)


def top_contained(rect: Rect, aspect: float) -> Rect:
    """The largest rectangle of `aspect` in `rect`, centred across it and at its top."""
    width = min(rect.width, rect.height * aspect)
    return Rect(rect.left + (rect.width - width) / 2, rect.top, width, width / aspect)


def build_artwork(
    params: DesignParams,
    area: Rect,
    image: Image.Image | None = None,
    image_px: tuple[int, int] | None = None,
) -> Artwork:
    """The artwork of `params` for a print area of `area`'s size; `image` (RGBA) and its
    original size in pixels for an image pattern (that size sets the proportions: a
    shrunk copy's are rounded)."""
    fabric = colour_rgb(params.color)
    text_ink = _text_ink(params, fabric)
    limit = params.max_colors
    pattern_limit = None if limit is None else max(1, limit - (text_ink is not None))
    pattern = params.pattern
    if isinstance(pattern, (AiGeneratePattern, SolidPattern, StripesPattern)):
        layout = layout_for(params, area)
        inks, indices = flat_pattern(params, layout.pattern, fabric, pattern_limit)
        coarse = MOTIF_MAX_PPI if isinstance(pattern, AiGeneratePattern) else None
        artwork = Artwork(layout, inks, indices=indices, indices_max_ppi=coarse)
    else:
        assert image is not None, "an image pattern is drawn from its image"
        width_px, height_px = image_px or image.size
        artwork = image_artwork(
            layout_for(params, area, width_px / height_px), image, pattern_limit
        )
        artwork = replace(artwork, source_px=(width_px, height_px))
    return _with_text(artwork, params, text_ink, limit)


def image_artwork(layout: Layout, image: Image.Image, limit: int | None) -> Artwork:
    """An image pattern's artwork: the image as it is, or reduced to `limit` inks."""
    if limit is None:
        return Artwork(layout, (), source=image)
    inks, reduced = reduced_image(image, limit)
    return Artwork(layout, inks, source=reduced)


def flat_pattern(
    params: DesignParams, rect: Rect, fabric: RGB, limit: int | None
) -> tuple[tuple[RGB, ...], IndexFunction]:
    """The inks and index function of a solid, stripes or generated pattern in `rect`."""
    pattern = params.pattern
    if isinstance(pattern, SolidPattern):
        return (colour_rgb(pattern.color),), lambda x, y: np.ones(
            np.broadcast_shapes(x.shape, y.shape), np.uint8
        )
    if isinstance(pattern, StripesPattern):
        kept, owner = merged_inks([colour_rgb(c) for c in pattern.colors], limit or 16)
        return tuple(kept), stripes(owner, pattern.width_mm / 25.4, pattern.angle_deg)
    assert isinstance(pattern, AiGeneratePattern)
    style = style_for(pattern.prompt, pattern.seed, fabric, limit)
    unit = min(rect.width, rect.height) / 2
    half_w, half_h = rect.width / 2 / unit, rect.height / 2 / unit

    def generated(x: Floats, y: Floats) -> Indices:
        return generated_indices(style, x / np.float32(unit), y / np.float32(unit), half_w, half_h)

    return palette(style), generated


def stripes(owner: list[int], width_in: float, angle_deg: float) -> IndexFunction:
    """Bands `width_in` wide, turned `angle_deg` from horizontal, through the inks in turn."""
    lookup = np.array([o + 1 for o in owner], np.uint8)
    sin, cos = (
        np.float32(math.sin(math.radians(angle_deg))),
        np.float32(math.cos(math.radians(angle_deg))),
    )

    def draw(x: Floats, y: Floats) -> Indices:
        across = (y * cos - x * sin) / np.float32(width_in)
        return lookup[np.floor(across).astype(np.int64) % len(lookup)]

    return draw


def reduced_image(image: Image.Image, limit: int) -> tuple[tuple[RGB, ...], Image.Image]:
    """The image posterised to at most `limit` inks: a "P" image, 0 where transparent."""
    alpha = np.asarray(image.getchannel("A"))
    quantised = image.convert("RGB").quantize(
        limit, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    flat = quantised.getpalette() or []
    indices = np.where(alpha >= 128, np.asarray(quantised).astype(np.uint16) + 1, 0)
    used = sorted(set(np.unique(indices).tolist()) - {0})
    remap = np.zeros(limit + 2, np.uint8)
    remap[used] = np.arange(1, len(used) + 1)
    inks = tuple((flat[3 * (u - 1)], flat[3 * (u - 1) + 1], flat[3 * (u - 1) + 2]) for u in used)
    return inks, Image.fromarray(remap[indices], "P")


def _text_ink(params: DesignParams, fabric: RGB) -> RGB | None:
    if params.text is None:
        return None
    return colour_rgb(params.text.color) if params.text.color else contrasting_ink(fabric)


def _with_text(
    artwork: Artwork, params: DesignParams, ink: RGB | None, limit: int | None
) -> Artwork:
    """The artwork with its text's ink among its inks: the same index when the pattern
    already has that ink, or the pattern's nearest ink when `limit` leaves no room."""
    if params.text is None or ink is None:
        return artwork
    inks = artwork.inks
    if ink in inks:
        index = inks.index(ink) + 1
    elif limit is not None and inks and len(inks) >= limit:
        index = 1 + min(range(len(inks)), key=lambda n: colour_difference(inks[n], ink))
    else:
        inks, index = (*inks, ink), len(inks) + 1
    return replace(artwork, inks=inks, text=params.text.content, text_index=index)


def draw(artwork: Artwork, canvas: Canvas) -> Image.Image:
    """The artwork over `canvas`: a "P" image (index 0 transparent) of its inks, or for
    an image pattern not reduced to inks an RGBA image."""
    if artwork.source is not None and artwork.source.mode == "RGBA":
        rgba = np.asarray(_placed_image(artwork, canvas)).copy()
        if artwork.text_ink:
            _paint_text(rgba, artwork, canvas, np.array((*artwork.text_ink, 255), np.uint8))
        return Image.fromarray(rgba, "RGBA")
    if artwork.source is not None:
        indices = np.asarray(_placed_image(artwork, canvas)).copy()
    else:
        indices = _pattern_indices(artwork, canvas)
    if artwork.text:
        _paint_text(indices, artwork, canvas, np.array(artwork.text_index, np.uint8))
    return indexed_image(indices, artwork.inks)


def indexed_image(indices: Indices, inks: tuple[RGB, ...]) -> Image.Image:
    image = Image.fromarray(indices, "P")
    image.putpalette([0, 0, 0, *(v for ink in inks for v in ink)])
    image.info["transparency"] = 0
    return image


def _pattern_indices(artwork: Artwork, canvas: Canvas) -> Indices:
    """The flat-ink pattern over the canvas, worked out at most at `indices_max_ppi`."""
    assert artwork.indices is not None
    limit = artwork.indices_max_ppi
    factor = 1 if limit is None else math.ceil(canvas.px_per_in / limit - 1e-9)
    coarse = Canvas(canvas.region, canvas.px_per_in / factor)
    indices = np.zeros(coarse.shape, np.uint8)
    paint(indices, artwork.indices, artwork.layout.pattern, coarse)
    if factor == 1:
        return indices
    rows, cols = canvas.shape
    return np.array(Image.fromarray(indices, "L").resize((cols, rows), Image.Resampling.NEAREST))


def paint(out: Indices, indices: IndexFunction, rect: Rect, canvas: Canvas) -> None:
    """Fill `out` (the canvas's pixels) inside `rect` with `indices`, a strip of rows at a time."""
    r0, r1, c0, c1 = canvas.span(rect)
    if r0 >= r1 or c0 >= c1:
        return
    ppi, region = canvas.px_per_in, canvas.region
    cx, cy = rect.centre
    xs = ((np.arange(c0, c1, dtype=np.float64) + 0.5) / ppi + region.left - cx).astype(np.float32)
    inside_x = np.abs(xs) <= rect.width / 2
    for top in range(r0, r1, ROWS_PER_STRIP):
        rows = np.arange(top, min(top + ROWS_PER_STRIP, r1), dtype=np.float64)
        ys = ((rows + 0.5) / ppi + region.top - cy).astype(np.float32)[:, None]
        inside = inside_x[None, :] & (np.abs(ys) <= rect.height / 2)
        out[top : top + len(rows), c0:c1] = np.where(inside, indices(xs[None, :], ys), 0)


def _placed_image(artwork: Artwork, canvas: Canvas) -> Image.Image:
    """The source resampled onto the canvas where the pattern's rectangle falls."""
    source = artwork.source
    assert source is not None
    rect = artwork.layout.pattern
    blank = Image.new(source.mode, (canvas.shape[1], canvas.shape[0]), 0)
    r0, r1, c0, c1 = canvas.span(rect)
    if r0 >= r1 or c0 >= c1:
        return blank
    ppi, region = canvas.px_per_in, canvas.region
    sx, sy = source.width / rect.width, source.height / rect.height
    box = (
        max(0.0, ((region.left + c0 / ppi) - rect.left) * sx),
        max(0.0, ((region.top + r0 / ppi) - rect.top) * sy),
        min(source.width, ((region.left + c1 / ppi) - rect.left) * sx),
        min(source.height, ((region.top + r1 / ppi) - rect.top) * sy),
    )
    nearest = source.mode == "P"  # indices must not be blended
    resample = Image.Resampling.NEAREST if nearest else Image.Resampling.BICUBIC
    blank.paste(source.resize((c1 - c0, r1 - r0), resample, box=box), (c0, r0))
    return blank


def _paint_text(
    pixels: npt.NDArray[np.uint8], artwork: Artwork, canvas: Canvas, ink: npt.NDArray[np.uint8]
) -> None:
    """Set the pixels under the text's ink to `ink`, drawing only the text's band."""
    rect = artwork.layout.text
    assert rect is not None and artwork.text
    r0, r1, c0, c1 = canvas.span(rect)
    if r0 >= r1 or c0 >= c1:
        return
    ppi = canvas.px_per_in
    origin = (canvas.region.left + c0 / ppi, canvas.region.top + r0 / ppi)
    mask = text_mask(artwork.text, rect, origin, ppi, (r1 - r0, c1 - c0))
    pixels[r0:r1, c0:c1][mask] = ink
