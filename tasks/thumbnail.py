"""Thumbnails (`render` queue): a 3D model → a PNG of it seen from above a front corner,
drawn by the farm's own software renderer (numpy and Pillow; no display, no GPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import numpy.typing as npt
from PIL import Image
from pydantic import BaseModel, Field

from tasks.convert import load_scene
from tasks.errors import InvalidInput, UnsupportedFormat
from tasks.formats import TWO_D, CadFormat, detect_format
from tasks.framing import frame, is_z_up, supersampling, view_rotation
from tasks.render import rasterise
from tasks.shading import shade
from tasks.triangles import Triangles, from_scene, is_binary_stl, read_binary_stl
from tasks.types import JobContext, JobOutcome

Side = Annotated[int, Field(ge=1, le=2048, description="pixels")]
TRANSPARENT = "transparent"


class ThumbnailParams(BaseModel):
    """Params of `thumbnail`."""

    width: Side
    height: Side
    background: str = Field(
        default="#ffffff",
        pattern=r"^(#[0-9a-fA-F]{6}|transparent)$",
        description='"#rrggbb", or "transparent" for a PNG whose background has alpha 0',
    )


def run_thumbnail(ctx: JobContext) -> JobOutcome:
    """Draw the single input at the requested size; the output is `<stem>.png`."""
    params = ctx.params
    assert isinstance(params, ThumbnailParams)
    if len(ctx.inputs) != 1:
        raise InvalidInput("a thumbnail is made of exactly one input file")
    source = ctx.inputs[0]
    fmt = detect_format(source)
    if fmt in TWO_D:
        raise UnsupportedFormat(
            f"thumbnails are made of 3D models only, and this is a 2D drawing ({fmt})"
        )
    ctx.progress(5, "detected")
    triangles = load_triangles(source, fmt)
    ctx.progress(40, "loaded")
    image = draw(triangles, params.width, params.height, is_z_up(fmt), params.background)
    ctx.progress(90, "rendered")
    out = ctx.workdir / f"{Path(source.name).stem or 'model'}.png"
    image.save(out, format="PNG")
    ctx.progress(100, "written")
    result = {
        "width": params.width,
        "height": params.height,
        "triangle_count": len(triangles),
        "source_format": fmt.value,
    }
    return JobOutcome(result=result, outputs=(out,))


def load_triangles(source: Path, fmt: CadFormat) -> Triangles:
    """The model's triangles. A binary STL is read directly, many times faster than
    through a scene; everything else goes through `load_scene` and its checks."""
    if fmt is CadFormat.STL and is_binary_stl(source):
        return read_binary_stl(source)
    return from_scene(load_scene(source, fmt))


def draw(triangles: Triangles, width: int, height: int, z_up: bool, background: str) -> Image.Image:
    """The triangles drawn at `width`×`height`, framed, supersampled then averaged down."""
    factor = supersampling(width, height)
    across, down = width * factor, height * factor
    rotation = view_rotation(z_up).astype(np.float32)
    view_x, view_y, view_z = np.tensordot(rotation, triangles.corners, axes=([1], [2]))
    low = np.array([view_x.min(), view_y.min(), view_z.min()])
    high = np.array([view_x.max(), view_y.max(), view_z.max()])
    framing = frame((low[0], low[1]), (high[0], high[1]), across, down)
    scale = np.float32(framing.scale)
    x = (view_x - np.float32(framing.centre_x)) * scale + np.float32(across / 2)
    y = np.float32(down / 2) - (view_y - np.float32(framing.centre_y)) * scale
    z = (np.float32(high[2]) - view_z) / np.float32(max(high[2] - low[2], 1e-30))
    nearest = rasterise(x, y, z, across, down)
    palette = _palette(triangles, nearest, rotation, background)
    samples = Image.fromarray(np.take(palette, nearest, axis=0).reshape(down, across, -1))
    image = samples.reduce(factor) if factor > 1 else samples
    return _unpremultiplied(image) if background == TRANSPARENT else image


def _palette(
    triangles: Triangles,
    nearest: npt.NDArray[np.int64],
    rotation: npt.NDArray[np.float32],
    background: str,
) -> npt.NDArray[np.uint8]:
    """The lit colour of each triangle that shows, the background's after them: RGB, or
    for a transparent background RGBA premultiplied (so averaging leaves no fringe)."""
    count = len(triangles)
    shows = np.zeros(count + 1, dtype=bool)
    shows[nearest] = True
    shown = np.flatnonzero(shows[:count])
    corners = np.take(triangles.corners, shown, axis=0)
    normals = np.dot(
        np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), rotation.T
    )
    if background == TRANSPARENT:
        palette = np.zeros((count + 1, 4), dtype=np.uint8)
        palette[shown, 3] = 255
    else:
        palette = np.empty((count + 1, 3), dtype=np.uint8)
        palette[count] = [int(background[i : i + 2], 16) for i in (1, 3, 5)]
    palette[shown, :3] = shade(normals, np.take(triangles.colours, shown, axis=0))
    return palette


def _unpremultiplied(image: Image.Image) -> Image.Image:
    rgba = np.asarray(image).astype(np.float32)
    alpha = rgba[:, :, 3:]
    rgba[:, :, :3] = np.divide(
        rgba[:, :, :3] * 255, alpha, out=np.zeros_like(rgba[:, :, :3]), where=alpha > 0
    )
    return Image.fromarray(np.clip(np.rint(rgba), 0, 255).astype(np.uint8), "RGBA")
