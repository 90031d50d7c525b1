"""The motif families of generated artwork, each a vectorised function of position.

Every motif takes x and y (float32 arrays, broadcast together; the unit is half the
artwork's shorter side, y pointing down) and its `Style`, and returns for each point the
ink to use, 0 to len(style.inks) - 1, or -1 for none. Positions are all they see, so a
motif draws the same picture at any resolution and in any strip of rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from tasks.design.prompt_style import Motif, Style

Floats = npt.NDArray[np.floating[Any]]  # float32 where speed matters
Ints = npt.NDArray[np.int32]
MotifFunction = Callable[[Floats, Floats, Style], Ints]
TAU = 2 * math.pi


def cell_hash(i: Ints, j: Ints, salt: int) -> Ints:
    """A well-mixed non-negative 31-bit hash of integer grid cells (i, j)."""
    h = i.astype(np.uint32) * np.uint32(0x27D4EB2D) ^ j.astype(np.uint32) * np.uint32(0x165667B1)
    h ^= np.uint32(salt & 0xFFFFFFFF)
    h ^= h >> np.uint32(15)
    h *= np.uint32(0x2C1B3C6D)
    h ^= h >> np.uint32(12)
    h *= np.uint32(0x297A2D39)
    h ^= h >> np.uint32(15)
    return (h >> np.uint32(1)).astype(np.int32)


def cells(x: Floats, y: Floats, size: float) -> tuple[Ints, Ints, Floats, Floats]:
    """The grid cell of each point, and the point's place in it from -0.5 to 0.5."""
    u, v = x / np.float32(size), y / np.float32(size)
    fi, fj = np.floor(u), np.floor(v)
    return fi.astype(np.int32), fj.astype(np.int32), u - fi - 0.5, v - fj - 0.5


def bands(value: Floats) -> tuple[Ints, Floats]:
    """The integer band each value falls in and where in the band, 0 to 1."""
    floor = np.floor(value)
    return floor.astype(np.int32), value - floor


def inks(band: Ints, style: Style) -> Ints:
    return band % np.int32(len(style.inks))


def lines(x: Floats, y: Floats, style: Style) -> Ints:
    """Parallel bands of varying weight, sometimes wavy, sometimes broken into dashes."""
    d = style.dice
    freq = d.uniform("lines.freq", 5, 11) * (0.7 + 0.6 * style.density)
    along = x * 0.0 + y
    if d.chance("lines.wavy", 0.4):
        along = along + d.uniform("lines.wobble", 0.05, 0.2) * np.sin(x * d.uniform("lw", 2, 6))
    band, frac = bands(along * np.float32(freq))
    duty = 0.15 + 0.55 * ((band * 7919 + d.salt("lines.duty")) % 97) / 97
    ink = frac < duty
    if d.chance("lines.dashed", 0.5):
        dash = x * np.float32(d.uniform("lines.dash", 2, 6)) + band * 0.37
        ink &= (dash - np.floor(dash)) < d.uniform("lines.dash_ratio", 0.5, 0.85)
    return np.where(ink, inks(band, style), -1)


def circuits(x: Floats, y: Floats, style: Style) -> Ints:
    """A circuit board: traces between grid nodes, ring pads where a trace ends, vias
    where traces meet, and the odd chip."""
    d = style.dice
    i, j, fu, fv = cells(x, y, d.uniform("circuits.cell", 0.13, 0.24) * (1.3 - 0.5 * style.density))
    salt = d.salt("circuits")
    here, west, north = cell_hash(i, j, salt), cell_hash(i - 1, j, salt), cell_hash(i, j - 1, salt)
    right, down, left, up = here & 1, (here >> 1) & 1, west & 1, (north >> 1) & 1
    width = 0.1
    across = np.where(fu >= 0, right, left).astype(bool) & (np.abs(fv) < width)
    upright = np.where(fv >= 0, down, up).astype(bool) & (np.abs(fu) < width)
    degree = right + down + left + up
    r2 = fu * fu + fv * fv
    pad = (degree == 1) & (r2 < 0.06)
    hole = (degree == 1) & (r2 < 0.012)
    via = (degree >= 3) & (r2 < 0.03)
    chip = ((here >> 4) % 19 == 0) & (np.abs(fu) < 0.42) & (np.abs(fv) < 0.3)
    ink = (across | upright | pad | via | chip) & ~hole
    zone, _ = bands((x * 0.8 + y * 0.45) * np.float32(d.uniform("circuits.zones", 0.6, 1.6)) + 8)
    return np.where(ink, inks(zone, style), -1)


def waves(x: Floats, y: Floats, style: Style) -> Ints:
    """Stacked waves: filled bands, or lines with gaps between them."""
    d = style.dice
    crest = d.uniform("waves.amp", 0.05, 0.25) * np.sin(
        x * d.uniform("waves.f1", 1.5, 5) + d.uniform("waves.p1", 0, TAU)
    ) + d.uniform("waves.ripple", 0, 0.06) * np.sin(x * d.uniform("waves.f2", 6, 13))
    freq = d.uniform("waves.freq", 3, 8) * (0.7 + 0.6 * style.density)
    band, frac = bands((y + crest) * np.float32(freq))
    gap = d.choice("waves.gap", [0.0, 0.0, 0.12, 0.3])
    return np.where(frac >= gap, inks(band, style), -1)


def ripples(x: Floats, y: Floats, style: Style) -> Ints:
    """Interfering rings spreading from two or three centres."""
    d = style.dice
    count = d.integer("ripples.count", 2, 3)
    freq = d.uniform("ripples.freq", 5, 11) * (0.7 + 0.6 * style.density)
    total = np.zeros(np.broadcast_shapes(x.shape, y.shape), np.float32)
    for n in range(count):
        cx, cy = d.uniform(f"ripples.x{n}", -0.7, 0.7), d.uniform(f"ripples.y{n}", -0.7, 0.7)
        total += np.sin(np.hypot(x - cx, y - cy) * np.float32(freq) + n)
    band, frac = bands((total / count + 1) * 3)
    return np.where(frac < d.uniform("ripples.duty", 0.5, 1.0), inks(band, style), -1)


def triangles(x: Floats, y: Floats, style: Style) -> Ints:
    """A low-poly field of triangles shading across the artwork, some left out."""
    d = style.dice
    size = d.uniform("triangles.size", 0.18, 0.38) * (1.2 - 0.5 * style.density)
    q, r = (x - y * 0.57735) / np.float32(size), (y * 1.1547) / np.float32(size)
    i, fq = bands(q)
    j, fr = bands(r)
    upper = (fq + fr) > 1
    nearest_edge = np.where(
        upper,
        np.minimum(np.minimum(1 - fq, 1 - fr), fq + fr - 1),
        np.minimum(np.minimum(fq, fr), 1 - fq - fr),
    )
    h = cell_hash(i * 2 + upper, j, d.salt("triangles"))
    ink = (nearest_edge > d.uniform("triangles.gap", 0.0, 0.07)) & (
        h % 100 < 55 + 45 * style.density
    )
    shade, _ = bands((x + y) * 0.9 + 4 + (h % 7) * 0.12)
    return np.where(ink, inks(shade, style), -1)


def blocks(x: Floats, y: Floats, style: Style) -> Ints:
    """Rectangles split once or twice and framed by bars, after Mondrian: the bars in
    the first ink, the panels in the others, some panels left empty."""
    d = style.dice
    i, j, fu, fv = cells(x, y, d.uniform("blocks.cell", 0.4, 0.7))
    h = cell_hash(i, j, d.salt("blocks"))
    split_u, split_v = (h & 1).astype(bool), (h & 2).astype(bool)
    at_u, at_v = ((h >> 2) % 9) / 12 - 0.33, ((h >> 6) % 9) / 12 - 0.33
    bar = 0.045
    edge = (np.abs(fu) > 0.5 - bar) | (np.abs(fv) > 0.5 - bar)
    edge |= (split_u & (np.abs(fu - at_u) < bar)) | (split_v & (np.abs(fv - at_v) < bar))
    part = cell_hash(
        i * 4 + (split_u & (fu > at_u)) * 2 + (split_v & (fv > at_v)), j, d.salt("b.part")
    )
    filled = part % 100 < 25 + 45 * style.density
    count = len(style.inks)
    panel = 1 + part % np.int32(max(count - 1, 1)) if count > 1 else part * 0
    return np.where(edge, 0, np.where(filled, panel, -1)).astype(np.int32)


def flow(x: Floats, y: Floats, style: Style) -> Ints:
    """Contour lines (or bands) of a smooth, warped field: topography, smoke, flames."""
    d = style.dice
    wx = x + 0.3 * np.sin(y * d.uniform("flow.wy", 1.2, 2.6) + d.uniform("flow.py", 0, TAU))
    wy = y + 0.3 * np.sin(x * d.uniform("flow.wx", 1.2, 2.6) + d.uniform("flow.px", 0, TAU))
    field = np.zeros(np.broadcast_shapes(x.shape, y.shape), np.float32)
    for n in range(1, 4):
        theta = d.uniform(f"flow.t{n}", 0, TAU)
        k = d.uniform(f"flow.k{n}", 1.2, 3.2) * n**0.7
        field += np.sin((wx * math.cos(theta) + wy * math.sin(theta)) * k + n) / n
    band, frac = bands(
        field * np.float32(d.uniform("flow.levels", 3, 7) * (0.7 + 0.6 * style.density))
    )
    width = d.choice("flow.width", [0.22, 0.35, 0.5, 1.0])
    return np.where(frac < width, inks(band, style), -1)


def cells_motif(x: Floats, y: Floats, style: Style) -> Ints:
    """Voronoi cells around scattered seeds, with gaps along the borders."""
    d = style.dice
    count = 9 + int(9 * style.density)
    shape = np.broadcast_shapes(x.shape, y.shape)
    best, second = np.full(shape, np.inf, np.float32), np.full(shape, np.inf, np.float32)
    nearest = np.zeros(shape, np.int32)
    for n in range(count):
        sx, sy = d.uniform(f"cells.x{n}", -1.1, 1.1), d.uniform(f"cells.y{n}", -1.3, 1.3)
        dist = (x - sx) ** 2 + (y - sy) ** 2
        closer = dist < best
        second = np.where(closer, best, np.minimum(second, dist))
        nearest = np.where(closer, n, nearest)
        best = np.where(closer, dist, best)
    colour = np.array([d.integer(f"cells.c{n}", -1, 40) for n in range(count)], np.int32)
    edge = (np.sqrt(second) - np.sqrt(best)) < d.uniform("cells.gap", 0.03, 0.08)
    ink = colour[nearest]
    return np.where(edge | (ink < 0), -1, inks(ink, style))


def petals(x: Floats, y: Floats, style: Style) -> Ints:
    """A layered flower in the middle over a scatter of small ones."""
    d = style.dice
    out = small_flowers(x, y, style)
    rho, theta = np.hypot(x, y), np.arctan2(y, x)
    layers = d.integer("petals.layers", 2, 3)
    for n in range(layers):
        count = d.integer(f"petals.n{n}", 5, 10)
        turn = d.uniform(f"petals.turn{n}", 0, TAU)
        edge = np.abs(np.cos((theta + turn) * (count / 2))) ** d.uniform(f"petals.e{n}", 0.5, 1.6)
        outline = (0.85 - 0.25 * n) * (0.3 + 0.7 * edge)
        out = np.where(rho < outline, n % len(style.inks), out)
    return np.where(rho < 0.13, layers % len(style.inks), out).astype(np.int32)


def small_flowers(x: Floats, y: Floats, style: Style) -> Ints:
    d = style.dice
    i, j, fu, fv = cells(x, y, d.uniform("flowers.cell", 0.35, 0.55))
    h = cell_hash(i, j, d.salt("flowers"))
    rho, theta = np.hypot(fu, fv), np.arctan2(fv, fu)
    edge = np.abs(np.cos(theta * (2.5 + (h % 2)) + h % 7))
    present = h % 100 < 30 + 50 * style.density
    ink = present & (rho < (0.16 + 0.2 * edge) * (0.7 + (h >> 8) % 4 * 0.1))
    return np.where(ink, ((h >> 4) % len(style.inks)).astype(np.int32), -1)


def star_shape(
    rho: Floats, phi: Floats, points: Ints | int, radius: Floats | float
) -> npt.NDArray[np.bool_]:
    """Whether each point lies in a star of `points` tips reaching `radius`."""
    turn = phi * (points / TAU)
    tip = np.abs((turn - np.floor(turn)) - 0.5) * 2  # 1 at a tip, 0 between two
    return rho < radius * (0.4 + 0.6 * tip**2)


def stars(x: Floats, y: Floats, style: Style) -> Ints:
    """A star field: stars of four to eight points and small dots, round a large star."""
    d = style.dice
    i, j, fu, fv = cells(x, y, d.uniform("stars.cell", 0.24, 0.4) * (1.2 - 0.4 * style.density))
    h = cell_hash(i, j, d.salt("stars"))
    dx = fu - (((h >> 3) % 64) / 63 - 0.5) * 0.4
    dy = fv - (((h >> 9) % 64) / 63 - 0.5) * 0.4
    rho, phi = np.hypot(dx, dy), np.arctan2(dy, dx)
    points = np.array([4, 5, 5, 6, 8], np.int32)[(h >> 20) % 5]
    big = star_shape(rho, phi, points, 0.14 + 0.2 * ((h >> 24) % 16) / 15)
    star = np.where(h % 3 == 0, big, rho < 0.05)
    out = np.where(star, (h >> 4) % len(style.inks), -1)
    cx, cy = d.uniform("stars.hx", -0.3, 0.3), d.uniform("stars.hy", -0.3, 0.3)
    hero = star_shape(np.hypot(x - cx, y - cy), np.arctan2(y - cy, x - cx) - 0.314, 5, 0.6)
    return np.where(hero, 0, out).astype(np.int32)


def rays(x: Floats, y: Floats, style: Style) -> Ints:
    """A sunburst: rays round a sun whose lower half is cut by widening gaps (retro)."""
    d = style.dice
    cy = d.uniform("rays.cy", -0.2, 0.35)
    rho, theta = np.hypot(x, y - cy), np.arctan2(y - cy, x)
    twist = d.uniform("rays.twist", -0.6, 0.6) if d.chance("rays.twisted", 0.4) else 0.0
    count = d.integer("rays.count", 8, 20)
    sector, _ = bands((theta + twist * rho + math.pi) * (count / TAU))
    sun = d.uniform("rays.sun", 0.3, 0.45)
    ray = (sector % 2 == 0) & (rho > sun + 0.1)
    below = (y - cy) / np.float32(sun)
    cut = (below > 0.1) & ((below * 6) % 1 < below * 0.6)
    disc = (rho < sun) & ~cut
    out = np.where(ray, 1 + (sector // 2) % max(len(style.inks) - 1, 1), -1)
    return np.where(disc, 0, out % len(style.inks)).astype(np.int32)


def mountains(x: Floats, y: Floats, style: Style) -> Ints:
    """Ranges of peaks one in front of the other, palest at the back as distance makes
    them, under a sky with a sun behind the farthest range."""
    d = style.dice
    layers = d.integer("mountains.layers", 3, 5)
    palest_first = np.argsort([-sum(ink) for ink in style.inks]).astype(np.int32)
    sx, sy = d.uniform("mountains.sx", -0.5, 0.5), d.uniform("mountains.sy", -0.8, -0.6)
    out = np.where(np.hypot(x - sx, y - sy) < 0.22, layers, -1)
    for n in range(layers):
        ridge = 0.0 * x + (-0.3 + 0.8 * n / max(layers - 1, 1))
        for k in (1, 2, 3):
            turn = x * np.float32(d.uniform(f"mountains.f{n}{k}", 0.7, 1.6) * k) + d.uniform(
                f"m.p{n}{k}", 0, 9
            )
            peak = 1 - 2 * np.abs(turn - np.floor(turn) - 0.5)
            ridge = ridge - (0.36 - 0.05 * n) / k * peak
        out = np.where(y > ridge, n, out)
    return np.where(out >= 0, palest_first[out % len(style.inks)], -1).astype(np.int32)


def halftone(x: Floats, y: Floats, style: Style) -> Ints:
    """Halftone dots on a turned grid, growing with a smooth field (pop art)."""
    d = style.dice
    size = d.uniform("halftone.cell", 0.06, 0.11)
    i, j, fu, fv = cells(x * 0.7071 + y * 0.7071, y * 0.7071 - x * 0.7071, size)
    cx, cy = (i + 0.5 + (j + 0.5)) * (size * 0.7071), (j + 0.5 - (i + 0.5)) * (size * 0.7071)
    kind = d.integer("halftone.field", 0, 2)
    if kind == 0:
        field = 1 - np.hypot(cx, cy) / 1.5
    elif kind == 1:
        field = 0.5 + (cx + cy) * 0.35
    else:
        field = 0.5 + 0.5 * np.sin(cx * 3.1) * np.cos(cy * 2.3)
    level = np.clip(field, 0, 1).astype(np.float32)
    ink = fu * fu + fv * fv < (0.55 * np.sqrt(level)) ** 2
    band, _ = bands(level * (len(style.inks) - 0.001))
    return np.where(ink, band, -1)


MOTIFS: dict[Motif, MotifFunction] = {
    Motif.LINES: lines,
    Motif.CIRCUITS: circuits,
    Motif.WAVES: waves,
    Motif.RIPPLES: ripples,
    Motif.TRIANGLES: triangles,
    Motif.BLOCKS: blocks,
    Motif.FLOW: flow,
    Motif.CELLS: cells_motif,
    Motif.PETALS: petals,
    Motif.STARS: stars,
    Motif.RAYS: rays,
    Motif.MOUNTAINS: mountains,
    Motif.HALFTONE: halftone,
}
