"""Lighting for thumbnails: a colour per triangle from its view-space normal and base
colour. A key light from the upper left, a soft fill from the right, a sky-tinted
ambient and a faint highlight, in linear light; both sides of a triangle are lit
alike, so flipped normals never come out black."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# Directions towards the lights, in view space (x right, y up, z towards the camera).
KEY_LIGHT = (-0.45, 0.65, 0.62)
FILL_LIGHT = (0.75, -0.05, 0.66)
KEY_STRENGTH = 0.78
FILL_STRENGTH = 0.28
AMBIENT = 0.22
# How much brighter the ambient is on faces turned up than on faces turned down.
SKY_TILT = 0.35
SPECULAR = 0.12
SHININESS = 32
# 0.5 ** SHININESS is about 2e-10, far below a step of `SRGB_STEPS`.
HIGHLIGHT_FLOOR = 0.5
GAMMA = 2.2
# sRGB → linear for each byte, and linear → sRGB in this many steps.
TO_LINEAR = ((np.arange(256) / 255.0) ** GAMMA).astype(np.float32)
SRGB_STEPS = 4096
TO_SRGB = np.rint(255 * np.linspace(0, 1, SRGB_STEPS) ** (1 / GAMMA)).astype(np.uint8)


def shade(normals: npt.NDArray[np.float32], base: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The lit sRGB colour of each triangle, from its view-space normals (n, 3; any
    length, zero for degenerate triangles) and sRGB base colours (n, 3)."""
    unit = _towards_camera(normals)
    key, fill = _unit(KEY_LIGHT), _unit(FILL_LIGHT)
    half = _unit(key + np.array([0, 0, 1], dtype=np.float32))
    diffuse = (
        AMBIENT * (1 + SKY_TILT * unit[:, 1])
        + KEY_STRENGTH * np.maximum(along(unit, key), 0)
        + FILL_STRENGTH * np.maximum(along(unit, fill), 0)
    )
    specular = SPECULAR * _power(_highlight_base(along(unit, half)), SHININESS)
    linear = TO_LINEAR[base] * diffuse[:, None] + specular[:, None]
    steps = np.clip(linear * (SRGB_STEPS - 1) + 0.5, 0, SRGB_STEPS - 1).astype(np.intp)
    return TO_SRGB[steps]


def along(vectors: npt.NDArray[np.float32], direction: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Each of `vectors` (n, 3) dotted with `direction`, column by column: for three
    columns, several times faster than a matrix product, which also wakes BLAS's threads."""
    d = np.asarray(direction, dtype=np.float32)
    return vectors[:, 0] * d[0] + vectors[:, 1] * d[1] + vectors[:, 2] * d[2]


def _towards_camera(normals: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    length = np.sqrt(np.einsum("ij,ij->i", normals, normals))[:, None]
    # The sign turns every normal towards the camera: two-sided lighting.
    length = np.where(normals[:, 2:] < 0, -length, length)
    return np.divide(normals, length, out=np.zeros_like(normals), where=length != 0)


def _highlight_base(cosine: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The cosines the highlight is raised from, those below `HIGHLIGHT_FLOOR` made 0:
    their highlight is below what a byte of sRGB shows, and squaring them would pass
    through subnormal floats, each step many times slower than a normal one."""
    return np.where(cosine < HIGHLIGHT_FLOOR, np.float32(0), cosine)


def _power(base: npt.NDArray[np.float32], exponent: int) -> npt.NDArray[np.float32]:
    """`base ** exponent` for a power of two, by squaring, many times faster than `**`."""
    while exponent > 1:
        base = base * base
        exponent //= 2
    return base


def _unit(vector: npt.ArrayLike) -> npt.NDArray[np.float32]:
    v = np.asarray(vector, dtype=np.float32)
    return v / np.linalg.norm(v)
