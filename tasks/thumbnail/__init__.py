"""Thumbnails (`render` queue): a 3D model → a PNG of it seen from above a front corner,
drawn by the farm's own software renderer (numpy and Pillow; no display, no GPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from tasks.convert import Tessellation, load_scene
from tasks.errors import InvalidInput, UnsupportedFormat
from tasks.formats import TWO_D, CadFormat, detect_format
from tasks.params.thumbnail import ThumbnailParams
from tasks.thumbnail.framing import frame, is_z_up, supersampling, view_rotation
from tasks.thumbnail.mesh_readers import read_simple_mesh
from tasks.thumbnail.render import rasterise
from tasks.thumbnail.shading import along, shade
from tasks.thumbnail.triangles import (
    Triangles,
    from_indexed,
    from_scene,
    is_binary_stl,
    read_binary_stl,
)
from tasks.types import JobContext, JobOutcome

TRANSPARENT = "transparent"
# How far, in pixels of the thumbnail, a STEP or IGES model's mesh may stray from its
# surfaces: under half a pixel, the coarsest at which holes and fillets (drawn with flat
# facets) show no banding at 800×600. Capped for tiny thumbnails.
SURFACE_DEVIATION_PX = 0.4
MAX_RELATIVE_DEVIATION = 0.01
# zlib's fastest level: the same pixels (PNG is lossless) in a file up to 30% larger, at a
# third of the default level's encoding time, which is a tenth of a small thumbnail's.
PNG_COMPRESS_LEVEL = 1


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
    triangles = load_triangles(source, fmt, thumbnail_tessellation(params.width, params.height))
    ctx.progress(40, "loaded")
    image = draw(triangles, params.width, params.height, is_z_up(fmt), params.background)
    ctx.progress(90, "rendered")
    out = ctx.workdir / f"{Path(source.name).stem or 'model'}.png"
    image.save(out, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    ctx.progress(100, "written")
    result = {
        "width": params.width,
        "height": params.height,
        "triangle_count": len(triangles),
        "source_format": fmt.value,
    }
    return JobOutcome(result=result, outputs=(out,))


def load_triangles(
    source: Path, fmt: CadFormat, tessellation: Tessellation | None = None
) -> Triangles:
    """The model's triangles, a STEP or IGES model meshed as `tessellation` says (None:
    as finely as a conversion). A binary STL, and a PLY or OFF of the plainest layout,
    are read directly, many times faster than through a scene; everything else goes
    through `load_scene` and its checks."""
    if fmt is CadFormat.STL and is_binary_stl(source):
        return read_binary_stl(source)
    mesh = read_simple_mesh(source, fmt)
    if mesh is not None:
        return from_indexed(mesh.vertices, mesh.faces)
    return from_scene(load_scene(source, fmt, tessellation))


def thumbnail_tessellation(width: int, height: int) -> Tessellation:
    """How finely to mesh a STEP or IGES model for a `width`×`height` thumbnail: finer
    for larger pictures, so that no facet strays more than about `SURFACE_DEVIATION_PX`
    from the surface.

    The tolerance is relative: OpenCASCADE then allows each edge and face to stray a
    fraction of its own size, scaled by at most 2 for small edges, and so never more than
    half that fraction of the model's size, which the picture's longer side shows.
    """
    fraction = 2 * SURFACE_DEVIATION_PX / max(width, height)
    return Tessellation(linear=min(fraction, MAX_RELATIVE_DEVIATION), relative=True)


def draw(triangles: Triangles, width: int, height: int, z_up: bool, background: str) -> Image.Image:
    """The triangles drawn at `width`×`height`, framed, supersampled then averaged down."""
    factor = supersampling(width, height)
    across, down = width * factor, height * factor
    rotation = view_rotation(z_up).astype(np.float32)
    x, y, z = _sample_coordinates(triangles, rotation, across, down)
    nearest = rasterise(x, y, z, across, down)
    palette = _palette(triangles, nearest, rotation, background)
    samples = Image.fromarray(np.take(palette, nearest, axis=0).reshape(down, across, -1))
    image = samples.reduce(factor) if factor > 1 else samples
    return _unpremultiplied(image) if background == TRANSPARENT else image


def _sample_coordinates(
    triangles: Triangles, rotation: npt.NDArray[np.float32], across: int, down: int
) -> npt.NDArray[np.float32]:
    """The corners in sample coordinates, framed: x across, y down, and depth in [0, 1],
    as (3, n, 3). One matrix product turns every corner to the view, and the rest is done
    in place: for a model of a million triangles, each copy would cost as much again."""
    view = rotation @ triangles.corners.reshape(-1, 3).T
    low, high = view.min(axis=1), view.max(axis=1)
    framing = frame((low[0], low[1]), (high[0], high[1]), across, down)
    scale = np.float32(framing.scale)
    x, y, z = view.reshape(3, len(triangles), 3)
    x -= np.float32(framing.centre_x)
    x *= scale
    x += np.float32(across / 2)
    y -= np.float32(framing.centre_y)
    y *= scale
    np.subtract(np.float32(down / 2), y, out=y)
    np.subtract(np.float32(high[2]), z, out=z)
    z /= np.float32(max(high[2] - low[2], 1e-30))
    return view.reshape(3, len(triangles), 3)


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
    world = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.stack([along(world, axis) for axis in rotation], axis=1)
    if background == TRANSPARENT:
        palette = np.zeros((count + 1, 4), dtype=np.uint8)
        palette[shown, 3] = 255
    else:
        palette = np.empty((count + 1, 3), dtype=np.uint8)
        palette[count] = [int(background[i : i + 2], 16) for i in (1, 3, 5)]
    # Indexed, not `np.take`, which would first copy a uniform colour to every triangle.
    palette[shown, :3] = shade(normals, triangles.colours[shown])
    return palette


def _unpremultiplied(image: Image.Image) -> Image.Image:
    rgba = np.asarray(image).astype(np.float32)
    alpha = rgba[:, :, 3:]
    rgba[:, :, :3] = np.divide(
        rgba[:, :, :3] * 255, alpha, out=np.zeros_like(rgba[:, :, :3]), where=alpha > 0
    )
    return Image.fromarray(np.clip(np.rint(rgba), 0, 255).astype(np.uint8), "RGBA")
