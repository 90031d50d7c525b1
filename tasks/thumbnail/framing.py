"""Thumbnail framing as pure decisions: which way is up, where the camera looks from,
how the model's silhouette is fitted into the picture, and how finely it is sampled.

The camera is orthographic: the CAD convention for part thumbnails, and it makes the
fit exact, since the silhouette's bounds are the bounds of the projected vertices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tasks.formats import CadFormat

AZIMUTH_DEG = 45.0
ELEVATION_DEG = 30.0
MARGIN = 0.06
# Small thumbnails, where each pixel shows most and samples cost least, get 3×3 samples
# a pixel, larger ones 2×2, and the largest as many as 4096² samples allow: a 2048²
# thumbnail is still sampled 2×2, in well under 1 GiB.
FINE_SUPERSAMPLING = 3
FINE_SAMPLES = 1 << 18
SUPERSAMPLING = 2
MAX_SAMPLES = 4096 * 4096

# Y-up (glTF's rule, and the habit of graphics tools) unless the format's world is Z-up
# (3D printing, and the CAD exchange formats).
Z_UP_FORMATS = frozenset({CadFormat.STL, CadFormat.THREEMF, CadFormat.STEP, CadFormat.IGES})
# Turns a Y-up world into a Z-up one: +Y (up) → +Z, +Z (the front) → -Y (the front).
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


@dataclass(frozen=True)
class Framing:
    """Maps view-space x, y to sample coordinates: `(x - centre_x) * scale + width / 2`
    across, and `height / 2 - (y - centre_y) * scale` down."""

    centre_x: float
    centre_y: float
    scale: float
    width: int
    height: int


def is_z_up(fmt: CadFormat) -> bool:
    """Whether the format's models stand on the XY plane (else they stand on XZ)."""
    return fmt in Z_UP_FORMATS


def view_rotation(
    z_up: bool, azimuth_deg: float = AZIMUTH_DEG, elevation_deg: float = ELEVATION_DEG
) -> npt.NDArray[np.float64]:
    """The rotation from world to view space (x right, y up, z towards the camera) for a
    camera `azimuth_deg` to the right of the front and `elevation_deg` above the ground."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    towards_camera = np.array(
        [math.sin(az) * math.cos(el), -math.cos(az) * math.cos(el), math.sin(el)]
    )
    right = np.cross(-towards_camera, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, -towards_camera)
    rotation = np.stack([right, up, towards_camera])
    return rotation if z_up else rotation @ Y_UP_TO_Z_UP


def frame(
    low: tuple[float, float],
    high: tuple[float, float],
    width: int,
    height: int,
    margin: float = MARGIN,
) -> Framing:
    """The largest scale that fits the view-space box `low`..`high` into `width`×`height`
    with `margin` (a fraction of each side) to spare, centred."""
    extent_x, extent_y = high[0] - low[0], high[1] - low[1]
    fits = [
        room * (1 - 2 * margin) / extent
        for room, extent in ((width, extent_x), (height, extent_y))
        if extent > 0
    ]
    return Framing(
        centre_x=(low[0] + high[0]) / 2,
        centre_y=(low[1] + high[1]) / 2,
        scale=min(fits) if fits else 1.0,
        width=width,
        height=height,
    )


def supersampling(width: int, height: int) -> int:
    """Samples per pixel along each axis (see `FINE_SAMPLES` and `MAX_SAMPLES`)."""
    pixels = width * height
    if pixels * FINE_SUPERSAMPLING**2 <= FINE_SAMPLES:
        return FINE_SUPERSAMPLING
    return max(1, min(SUPERSAMPLING, math.isqrt(MAX_SAMPLES // pixels)))
