"""The preview: a product drawn from the front in its fabric colour, shaded so it reads
as cloth, with the artwork printed in its print area and that area's edge marked.

Drawn at twice the size and halved at the end, so every edge is smooth. Pillow draws
the shapes; numpy lights them: the fabric darkens towards its outline and in its folds,
brightens on broad highlights, and ink on it follows the same light.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter

from tasks.design.colours import RGB, is_dark
from tasks.design.garments import Rect
from tasks.design.silhouettes import Path, Silhouette, Stroke

PREVIEW_PX = 1024
SUPERSAMPLE = 2
BACKGROUND_TOP, BACKGROUND_BOTTOM = (244, 244, 242), (226, 226, 223)
Floats = npt.NDArray[np.floating[Any]]  # float32 where speed matters


@dataclass(frozen=True)
class Placer:
    """Maps product inches to pixels of the working (supersampled) canvas."""

    scale: float
    origin_x: float
    origin_y: float

    def point(self, x: float, y: float) -> tuple[float, float]:
        return (self.origin_x + x * self.scale, self.origin_y + y * self.scale)

    def path(self, path: Path) -> list[tuple[float, float]]:
        return [self.point(x, y) for x, y in path]

    def rect(self, rect: Rect) -> tuple[int, int, int, int]:
        left, top = self.point(rect.left, rect.top)
        right, bottom = self.point(rect.right, rect.bottom)
        return round(left), round(top), round(right), round(bottom)


def placer_for(shape: Silhouette) -> Placer:
    """Centres the silhouette's panels on the canvas at its `px_per_in`."""
    points = np.array([p for panel in shape.panels for p in panel.outline])
    strokes = np.array([p for stroke in shape.strokes for p in stroke.path])
    every = np.concatenate([points, strokes])
    scale = shape.px_per_in * SUPERSAMPLE
    middle_y = (every[:, 1].min() + every[:, 1].max()) / 2
    side = PREVIEW_PX * SUPERSAMPLE
    return Placer(scale, side / 2, side / 2 - middle_y * scale)


@dataclass(frozen=True)
class Scene:
    """What a product's previews share, worked out once per product: where the product
    and its cords cover the canvas, how lit each pixel is, the background with the
    product's shadow, and the seams and stitching for light and for dark fabrics."""

    place: Placer
    cover: Floats
    cords: Floats
    shade: Floats
    background: Floats
    details: dict[bool, Image.Image]


def render_mockup(
    shape: Silhouette, fabric: RGB, ink: Image.Image | None, print_rect: Rect
) -> Image.Image:
    """The 1024 × 1024 RGB preview: `ink` (RGBA, any size; None for none) printed over
    `print_rect` (product inches) of the product drawn in `fabric`."""
    scene = scene_for(shape)
    cloth, canvas = _blank(shape, fabric)
    box = _preview_box(scene.place, print_rect)
    if ink is not None:
        canvas = _printed(canvas, ink, box, scene.shade, scene.cover)
        cords = scene.cords[:, :, None]  # drawstrings hang over the print
        canvas = canvas * (1 - cords) + cloth * cords
    image = Image.fromarray(np.clip(canvas + 0.5, 0, 255).astype(np.uint8), "RGB")
    details = scene.details[is_dark(fabric)]
    image.paste(details, (0, 0), details)
    _mark_print_area(image, box, fabric)
    return image


@functools.lru_cache(maxsize=8)
def scene_for(shape: Silhouette) -> Scene:
    """The shared part of `shape`'s previews, drawn at twice the size and halved."""
    place = placer_for(shape)
    side = PREVIEW_PX * SUPERSAMPLE
    panels, tone, ribs = _panel_layers(shape, place, side)
    cords, cord_tone = _cord_layers(shape, place, side)
    body_light = _lighting(shape, place, panels, side)
    light = np.where(
        cords > 0, 1.0 - 0.04 * np.arange(side, dtype=np.float32)[:, None] / side, body_light
    )
    tones = np.where(cords > 0, cord_tone, tone)
    shade = tones * light * _texture(shape.texture, side) * (1 + ribs)
    cloth = np.maximum(panels, cords)
    return Scene(
        place=place,
        cover=_halved(cloth.astype(np.float32) / 255),
        cords=_halved(cords.astype(np.float32) / 255),
        shade=_halved(shade.astype(np.float32)),
        background=_halved(_background(side, cloth)),
        details={dark: _details(shape, place, side, dark) for dark in (False, True)},
    )


@functools.lru_cache(maxsize=2)
def _blank(shape: Silhouette, fabric: RGB) -> tuple[Floats, Floats]:
    """The lit cloth of `shape` in `fabric`, and the product on its background without
    ink: the same for every design of a batch's product and colour, so worked out once
    (read-only; each preview draws on a copy)."""
    scene = scene_for(shape)
    cloth = _lit(np.asarray(fabric, np.float32), scene.shade)
    cover = scene.cover[:, :, None]
    canvas: Floats = scene.background * (1 - cover) + cloth * cover
    cloth.flags.writeable = canvas.flags.writeable = False
    return cloth, canvas


def _halved(pixels: Floats) -> Floats:
    """Each 2 × 2 block of pixels averaged into one."""
    rows, cols = pixels.shape[0] // 2, pixels.shape[1] // 2
    blocks = pixels[: rows * 2, : cols * 2].reshape(rows, 2, cols, 2, *pixels.shape[2:])
    return blocks.mean(axis=(1, 3), dtype=np.float32)


def _preview_box(place: Placer, rect: Rect) -> tuple[int, int, int, int]:
    """The print area in preview pixels."""
    left, top, right, bottom = place.rect(rect)
    return left // SUPERSAMPLE, top // SUPERSAMPLE, right // SUPERSAMPLE, bottom // SUPERSAMPLE


def _panel_layers(
    shape: Silhouette, place: Placer, side: int
) -> tuple[npt.NDArray[np.uint8], Floats, Floats]:
    """The panels' coverage (L), each pixel's panel tone, and knitted ribs' relief."""
    cloth = Image.new("L", (side, side), 0)
    tone = Image.new("L", (side, side), 0)
    ribs = np.zeros((side, side), np.float32)
    for panel in shape.panels:
        outline = place.path(panel.outline)
        ImageDraw.Draw(cloth).polygon(outline, fill=255)
        ImageDraw.Draw(tone).polygon(outline, fill=round(panel.tone * 200))
        if panel.ribbed:
            mask = Image.new("L", (side, side), 0)
            ImageDraw.Draw(mask).polygon(outline, fill=255)
            inside = np.asarray(mask) > 0
            ribs = np.where(inside, _rib_relief(side, panel.rib_angle, place.scale), ribs)
    tones = np.asarray(tone.filter(ImageFilter.GaussianBlur(1.5)), np.float32) / 200
    return np.asarray(cloth), tones, ribs


def _cord_layers(
    shape: Silhouette, place: Placer, side: int
) -> tuple[npt.NDArray[np.uint8], Floats]:
    """Cords, straps and rims: their coverage (L), and their tone, darker at their edges
    so each reads as a band lying on the fabric."""
    cover = Image.new("L", (side, side), 0)
    tone = Image.new("L", (side, side), 0)
    for stroke in (s for s in shape.strokes if s.kind == "cord"):
        points, width = place.path(stroke.path), max(3, round(stroke.width_in * place.scale))
        ImageDraw.Draw(cover).line(points, fill=255, width=width + 4, joint="curve")
        ImageDraw.Draw(tone).line(points, fill=round(0.72 * 200), width=width + 4, joint="curve")
        ImageDraw.Draw(tone).line(points, fill=round(0.9 * 200), width=width, joint="curve")
        ImageDraw.Draw(tone).line(
            points, fill=round(1.02 * 200), width=max(1, width - 6), joint="curve"
        )
    tones = np.asarray(tone.filter(ImageFilter.GaussianBlur(1.5)), np.float32) / 200
    return np.asarray(cover), tones


def _rib_relief(side: int, angle_deg: float, px_per_in: float) -> Floats:
    """Knitted ribs: a ridge every eighth of an inch, at `angle_deg` from vertical."""
    y, x = np.ogrid[0:side, 0:side]
    slope = np.float32(np.tan(np.radians(angle_deg)))
    phase = (x.astype(np.float32) - y.astype(np.float32) * slope) * np.float32(
        2 * np.pi * 8 / px_per_in
    )
    return (np.sin(phase) * 0.06 - 0.03).astype(np.float32)


def _lighting(shape: Silhouette, place: Placer, cloth: npt.NDArray[np.uint8], side: int) -> Floats:
    """How lit each pixel of the product is (1: as the fabric's colour says): darker
    towards the outline and in folds and shadows, lighter on highlights and at the top."""
    cloth_img = Image.fromarray(cloth, "L")
    near_edge = (
        np.asarray(cloth_img.filter(ImageFilter.GaussianBlur(place.scale * 0.9)), np.float32) / 255
    )
    rounded = 0.74 + 0.26 * np.clip((near_edge - 0.5) * 2.2, 0, 1) ** 0.6
    y = np.linspace(0, 1, side, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, side, dtype=np.float32)[None, :]
    light = rounded * (1.05 - 0.1 * y - 0.04 * x)
    for kind, weight, blur in (
        ("fold", -0.2, 0.35),
        ("shadow", -0.22, 0.3),
        ("highlight", 0.1, 1.4),
    ):
        layer = _stroke_layer(shape.strokes, kind, place, side, blur)
        if layer is not None:
            light = light + weight * layer
    return light.astype(np.float32)


def _stroke_layer(
    strokes: tuple[Stroke, ...], kind: str, place: Placer, side: int, blur_in: float
) -> Floats | None:
    chosen = [s for s in strokes if s.kind == kind]
    if not chosen:
        return None
    layer = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(layer)
    for stroke in chosen:
        draw.line(
            place.path(stroke.path),
            fill=255,
            width=max(1, round(stroke.width_in * place.scale)),
            joint="curve",
        )
    return (
        np.asarray(layer.filter(ImageFilter.GaussianBlur(blur_in * place.scale)), np.float32) / 255
    )


def _texture(kind: str, side: int) -> Floats:
    """The fabric's own grain, as a factor around 1; fixed, so previews are repeatable."""
    rng = np.random.default_rng(20240320)
    grain = rng.random((side // 2, side // 2), dtype=np.float32) - 0.5
    grain = np.repeat(np.repeat(grain, 2, axis=0), 2, axis=1)
    y, x = np.ogrid[0:side, 0:side]
    if kind == "canvas":  # a plain weave: warp and weft crossing every few pixels
        weave = np.sin(x.astype(np.float32) * 1.9) * np.sin(y.astype(np.float32) * 1.9)
        return (1 + 0.035 * weave + 0.05 * grain).astype(np.float32)
    amount = 0.045 if kind == "fleece" else 0.03
    return (1 + amount * grain).astype(np.float32)


def _lit(base: npt.NDArray[np.float32], shade: Floats) -> Floats:
    """The fabric colour under `shade`: darker below 1; above 1 it moves towards white,
    so highlights show on black cloth too."""
    dark = base[None, None, :] * np.minimum(shade, 1)[:, :, None]
    bright = np.maximum(shade - 1, 0)[:, :, None] * (255 - base[None, None, :]) * 0.6
    return dark + bright + _sheen(base) * (shade[:, :, None] - 0.8)


def _sheen(base: npt.NDArray[np.float32]) -> float:
    """Black cloth shows its folds by the light it catches, not by getting darker."""
    return float(max(0.0, 60 - base.mean()) * 0.6)


def _background(side: int, cloth: npt.NDArray[np.uint8]) -> Floats:
    top, bottom = np.array(BACKGROUND_TOP, np.float32), np.array(BACKGROUND_BOTTOM, np.float32)
    t = np.linspace(0, 1, side, dtype=np.float32)[:, None, None]
    ground = np.broadcast_to(top + (bottom - top) * t, (side, side, 3))
    shadow_img = Image.fromarray(cloth, "L").transform(
        (side, side), Image.Transform.AFFINE, (1, 0, -10, 0, 1, -22), Image.Resampling.BILINEAR
    )
    shadow = np.asarray(shadow_img.filter(ImageFilter.GaussianBlur(26)), np.float32) / 255
    return ground * (1 - 0.22 * shadow)[:, :, None]


def _printed(
    canvas: Floats, ink: Image.Image, box: tuple[int, int, int, int], shade: Floats, cover: Floats
) -> Floats:
    """The canvas with the ink laid over `box` (pixels), lit like the fabric under it."""
    left, top, right, bottom = box
    sized = ink.convert("RGBA").resize((right - left, bottom - top), Image.Resampling.LANCZOS)
    rgba = np.asarray(sized, np.float32)
    region = (slice(top, bottom), slice(left, right))
    light = 0.3 + 0.7 * np.clip(shade[region], 0, 1.15)
    alpha = rgba[:, :, 3:] / 255 * cover[region][:, :, None]
    out = canvas.copy()
    out[region] = canvas[region] * (1 - alpha) + rgba[:, :, :3] * light[:, :, None] * alpha
    return out


def _details(shape: Silhouette, place: Placer, side: int, dark: bool) -> Image.Image:
    """Seams, stitching and metal tips as a halved RGBA overlay, for a dark fabric or a
    light one (thread and seam shadows show differently on each)."""
    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image, "RGBA")
    thread = (255, 255, 255, 70) if dark else (0, 0, 0, 80)
    edge = (0, 0, 0, 90) if not dark else (0, 0, 0, 140)
    for stroke in shape.strokes:
        width = max(1, round(stroke.width_in * place.scale))
        points = place.path(stroke.path)
        if stroke.kind == "seam":
            draw.line(points, fill=edge, width=width, joint="curve")
        elif stroke.kind == "stitch":
            _dashed(draw, points, thread, width, dash=round(0.16 * place.scale))
        elif stroke.kind == "metal":
            draw.line(points, fill=(150, 152, 156, 255), width=width, joint="curve")
    return image.reduce(SUPERSAMPLE)


def _dashed(
    draw: ImageDraw.ImageDraw,
    points: list[tuple[float, float]],
    fill: tuple[int, ...],
    width: int,
    dash: int,
) -> None:
    """A dashed line along `points`: `dash` pixels on, `dash` off."""
    pts = np.array(points, np.float64)
    steps = np.hypot(*np.diff(pts, axis=0).T)
    along = np.concatenate([[0], np.cumsum(steps)])
    for start in np.arange(0, along[-1], 2 * dash):
        ends = np.interp([start, min(start + dash, along[-1])], along, np.arange(len(pts)))
        a, b = (_at(pts, e) for e in ends)
        draw.line([a, b], fill=fill, width=width)


def _at(pts: npt.NDArray[np.float64], position: float) -> tuple[float, float]:
    n = min(int(position), len(pts) - 2)
    t = position - n
    x, y = pts[n] * (1 - t) + pts[n + 1] * t
    return (float(x), float(y))


def _mark_print_area(image: Image.Image, box: tuple[int, int, int, int], fabric: RGB) -> None:
    """A faint dashed outline of the print area: where ink can go, without hiding the design."""
    left, top, right, bottom = box
    colour = (255, 255, 255, 90) if is_dark(fabric) else (0, 0, 0, 60)
    draw = ImageDraw.Draw(image, "RGBA")
    corners = [(left, top), (right, top), (right, bottom), (left, bottom), (left, top)]
    _dashed(draw, [(float(x), float(y)) for x, y in corners], colour, 1, dash=6)
