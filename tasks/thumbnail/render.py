"""A software rasteriser in vectorised numpy: triangles in sample coordinates → for each
sample, the nearest triangle covering its centre.

A triangle whose bounds hold no sample centre is dropped at once, one whose bounds hold
a single centre is tested at that centre alone (most triangles of a dense mesh), and the
rest are scanned row by row: one span per sample row crossed, one fragment per sample
covered, so the work follows the rows and samples covered. The depth test packs depth
and triangle number into one int64 and keeps the smallest per sample with
`np.minimum.at`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

DEPTH_LEVELS = 1 << 30
# Headroom around the depth levels, for rounding along a span.
DEPTH_FLOOR = 1 << 16
TRIANGLE_BITS = 32
TRIANGLE_MASK = (1 << TRIANGLE_BITS) - 1
# Batches keep the working arrays within the processor's caches, and bound the memory.
TRIANGLE_BATCH = 1 << 15
MAX_SPANS = 1 << 14
MAX_FRAGMENTS = 1 << 16
# Widen every triangle a hair (in samples, and samples² for the edge functions), so a
# sample exactly on an edge shared by two triangles is not missed by both.
EDGE_SLACK = 1e-3
SIDE_SLACK = 1e-3
EDGES = ((0, 1), (1, 2), (2, 0))
# The per-triangle table a span reads, a row per quantity (so that each is contiguous
# for the spans that read it): for each edge its first corner, its dx/dy, and what to
# add to its x to bound the span on the left (-slack, else -inf) and on the right
# (slack, else inf); then the triangle's x range widened by the slack, its first
# corner's depth, the depth's slopes and range.
EDGE_ROWS = 5
LEFT, RIGHT, Z0, Z_PER_X, Z_PER_Y, Z_LOW, Z_HIGH = range(15, 22)
ROWS = 22


@dataclass(frozen=True)
class Spans:
    """Runs of samples along rows: the first sample's index, its packed depth-and-triangle
    key, the key's step from one sample to the next, and the run's length."""

    start: IntArray
    key: IntArray
    key_step: IntArray
    length: IntArray


def rasterise(
    x: FloatArray, y: FloatArray, z: FloatArray, width: int, height: int
) -> npt.NDArray[np.int64]:
    """For each of the `height`×`width` samples (row-major), the number of the nearest
    triangle covering its centre, or `len(x)` where none does.

    `x`, `y` and `z` are (n, 3): the triangles' corners in sample coordinates (x across,
    y down; sample (r, c) is centred on (c + 0.5, r + 0.5)) and their depth in [0, 1],
    smaller nearer. Either winding is drawn.
    """
    empty = (np.int64(DEPTH_LEVELS + 2 * DEPTH_FLOOR) << TRIANGLE_BITS) | len(x)
    nearest = np.full(width * height, empty, dtype=np.int64)
    # Batches small enough for the processor's caches.
    for first in range(0, len(x), TRIANGLE_BATCH):
        batch = slice(first, first + TRIANGLE_BATCH)
        for starts, keys in _batch_fragments(x[batch], y[batch], z[batch], first, width, height):
            np.minimum.at(nearest, starts, keys)
    nearest &= TRIANGLE_MASK
    return nearest


def _batch_fragments(
    x: FloatArray, y: FloatArray, z: FloatArray, first: int, width: int, height: int
) -> Iterator[tuple[IntArray, IntArray]]:
    """The fragments of triangles numbered from `first`: those whose bounds hold one
    sample centre are tested at it alone; those holding more are scanned in spans."""
    first_row, rows = _reach(y, height)
    first_col, cols = _reach(x, width)
    single = (rows == 1) & (cols == 1)
    alone = np.flatnonzero(single)
    yield _single_samples(x, y, z, alone, first_row[alone], first_col[alone], first, width)
    spread = np.flatnonzero((rows > 0) & (cols > 0) & ~single)
    spread = spread[_twice_area(x[spread], y[spread]) != 0]
    for part in _row_batches(spread, rows[spread]):
        table = _setup(*(np.take(a, part, axis=0) for a in (x, y, z)))
        spans = _spans(table, part + first, first_row[part], rows[part], width)
        yield from _fragments(spans)


def _reach(along: FloatArray, samples: int) -> tuple[IntArray, IntArray]:
    """The first sample (row or column) whose centre lies within each triangle's bounds
    along one axis, and how many do."""
    low = np.minimum(np.minimum(along[:, 0], along[:, 1]), along[:, 2])
    high = np.maximum(np.maximum(along[:, 0], along[:, 1]), along[:, 2])
    first = np.maximum(np.ceil(low - 0.5), 0).astype(np.int64)
    last = np.minimum(np.floor(high - 0.5), samples - 1).astype(np.int64)
    return first, last - first + 1


def _single_samples(
    x: FloatArray,
    y: FloatArray,
    z: FloatArray,
    number: IntArray,
    row: IntArray,
    col: IntArray,
    first: int,
    width: int,
) -> tuple[IntArray, IntArray]:
    """The fragments of triangles each tested at one sample centre; the depth is their
    mean, as they are no larger than a couple of samples."""
    xs, ys = np.take(x, number, axis=0), np.take(y, number, axis=0)
    centre_x = col.astype(np.float32) + 0.5
    centre_y = row.astype(np.float32) + 0.5
    sides = [
        (xs[:, b] - xs[:, a]) * (centre_y - ys[:, a])
        - (ys[:, b] - ys[:, a]) * (centre_x - xs[:, a])
        for a, b in EDGES
    ]
    lowest = np.minimum(np.minimum(sides[0], sides[1]), sides[2])
    highest = np.maximum(np.maximum(sides[0], sides[1]), sides[2])
    inside = np.flatnonzero((lowest >= -SIDE_SLACK) | (highest <= SIDE_SLACK))
    zs = np.take(z, number[inside], axis=0)
    # Summed column by column: `mean(axis=1)` over three values is many times slower.
    depth = (zs[:, 0] + zs[:, 1] + zs[:, 2]) / np.float32(3)
    return (
        row[inside] * width + col[inside],
        (_depth_level(depth) << TRIANGLE_BITS) | (number[inside] + first),
    )


def _row_batches(number: IntArray, rows: IntArray) -> list[IntArray]:
    """`number` split into runs of about `MAX_SPANS` rows."""
    ends = np.cumsum(rows)
    total = int(ends[-1]) if len(ends) else 0
    return np.split(number, np.searchsorted(ends, np.arange(MAX_SPANS, total, MAX_SPANS)))


def _twice_area(x: FloatArray, y: FloatArray) -> FloatArray:
    """Each triangle's signed area, doubled: positive when clockwise on screen (y down)."""
    return (x[:, 1] - x[:, 0]) * (y[:, 2] - y[:, 0]) - (x[:, 2] - x[:, 0]) * (y[:, 1] - y[:, 0])


def _setup(x: FloatArray, y: FloatArray, z: FloatArray) -> FloatArray:
    """The per-triangle table (see `ROWS`) of triangles with some area.

    A span is the intersection of a row with the triangle's three half-planes: an edge
    whose inside lies to its right bounds the span on the left, and the other way round.
    """
    table = np.empty((ROWS, len(x)), dtype=np.float32)
    clockwise = _twice_area(x, y) > 0
    for i, (a, b) in enumerate(EDGES):
        rise = y[:, b] - y[:, a]
        row = i * EDGE_ROWS
        table[row] = x[:, a]
        table[row + 1] = y[:, a]
        np.divide(x[:, b] - x[:, a], rise, out=table[row + 2], where=rise != 0)
        table[row + 2, rise == 0] = 0
        bounds_left = (rise < 0) == clockwise
        table[row + 3] = np.where((rise != 0) & bounds_left, -EDGE_SLACK, -np.inf)
        table[row + 4] = np.where((rise != 0) & ~bounds_left, EDGE_SLACK, np.inf)
    table[LEFT] = np.minimum(np.minimum(x[:, 0], x[:, 1]), x[:, 2]) - EDGE_SLACK
    table[RIGHT] = np.maximum(np.maximum(x[:, 0], x[:, 1]), x[:, 2]) + EDGE_SLACK
    _depth_plane(x, y, z, table)
    return table


def _depth_plane(x: FloatArray, y: FloatArray, z: FloatArray, table: FloatArray) -> None:
    """Fills the depth columns: corner 0's depth, the slopes along x and y, the range."""
    dx1, dy1, dz1 = x[:, 1] - x[:, 0], y[:, 1] - y[:, 0], z[:, 1] - z[:, 0]
    dx2, dy2, dz2 = x[:, 2] - x[:, 0], y[:, 2] - y[:, 0], z[:, 2] - z[:, 0]
    twice_area = dx1 * dy2 - dx2 * dy1
    table[Z0] = z[:, 0]
    table[Z_PER_X] = (dz1 * dy2 - dz2 * dy1) / twice_area
    table[Z_PER_Y] = (dx1 * dz2 - dx2 * dz1) / twice_area
    table[Z_LOW] = np.minimum(np.minimum(z[:, 0], z[:, 1]), z[:, 2])
    table[Z_HIGH] = np.maximum(np.maximum(z[:, 0], z[:, 1]), z[:, 2])


def _spans(
    table: FloatArray, number: IntArray, first_row: IntArray, rows: IntArray, width: int
) -> Spans:
    """One span per triangle and sample row it crosses."""
    row = np.repeat(first_row, rows) + _ramp(rows)
    t = np.repeat(table, rows, axis=1)
    centre_y = row.astype(np.float32) + 0.5
    left, right = t[LEFT], t[RIGHT]
    for i in range(len(EDGES)):
        edge = i * EDGE_ROWS
        at = centre_y - t[edge + 1]
        at *= t[edge + 2]
        at += t[edge]
        np.maximum(left, at + t[edge + 3], out=left)
        np.minimum(right, np.add(at, t[edge + 4], out=at), out=right)
    left -= 0.5
    first_col = np.maximum(np.ceil(left, out=left), 0, out=left)
    right -= 0.5
    last_col = np.minimum(np.floor(right, out=right), width - 1, out=right)
    length = np.maximum(last_col - first_col + 1, 0).astype(np.int64)
    key, key_step = _span_depths(t, first_col, length, centre_y)
    return Spans(
        start=row * width + first_col.astype(np.int64),
        key=(key << TRIANGLE_BITS) | np.repeat(number, rows),
        key_step=key_step << TRIANGLE_BITS,
        length=length,
    )


def _span_depths(
    t: FloatArray, first_col: FloatArray, length: IntArray, centre_y: FloatArray
) -> tuple[IntArray, IntArray]:
    """Each span's depth level at its first sample, and its step per sample; both ends
    held within the triangle's own depth range."""
    depth = t[Z0] + t[Z_PER_X] * (first_col + 0.5 - t[0]) + t[Z_PER_Y] * (centre_y - t[1])
    last = depth + t[Z_PER_X] * np.maximum(length - 1, 0)
    depth = np.clip(depth, t[Z_LOW], t[Z_HIGH], out=depth)
    last = np.clip(last, t[Z_LOW], t[Z_HIGH], out=last)
    step = (last - depth) * np.float32(DEPTH_LEVELS) / np.maximum(length - 1, 1)
    return _depth_level(depth), step.astype(np.int64)


def _depth_level(depth: FloatArray) -> IntArray:
    """Depths in [0, 1] as the integers the depth test compares."""
    return DEPTH_FLOOR + (depth * np.float32(DEPTH_LEVELS)).astype(np.int64)


def _fragments(spans: Spans) -> Iterator[tuple[IntArray, IntArray]]:
    """Each covered sample's index and key, in batches of about `MAX_FRAGMENTS`. Spans of
    one sample, the most common, are passed on as they are."""
    single = spans.length == 1
    yield spans.start[single], spans.key[single]
    longer = np.flatnonzero(spans.length > 1)
    ends = np.cumsum(spans.length[longer])
    total = int(ends[-1]) if len(ends) else 0
    cuts = np.searchsorted(ends, np.arange(MAX_FRAGMENTS, total, MAX_FRAGMENTS))
    for part in np.split(longer, cuts):
        length = spans.length[part]
        opening = np.cumsum(length) - length
        counter = np.arange(int(opening[-1] + length[-1]) if len(part) else 0)
        yield (
            _runs(spans.start[part], None, length, opening, counter),
            _runs(spans.key[part], spans.key_step[part], length, opening, counter),
        )


def _runs(
    first: IntArray,
    step: IntArray | None,
    length: IntArray,
    opening: IntArray,
    counter: IntArray,
) -> IntArray:
    """The arithmetic runs `first + step * i` for i below `length` (`step` None: 1),
    concatenated; `opening` is where each run starts and `counter` counts 0, 1, … over
    them all. Each value is `step * counter` plus the run's own offset (int64
    wrap-around leaves them exact)."""
    if step is None:
        return np.repeat(first - opening, length) + counter
    values = np.repeat(step, length)
    values *= counter
    values += np.repeat(first - step * opening, length)
    return values


def _ramp(lengths: IntArray) -> IntArray:
    """0, 1, …, n-1 for each n in `lengths`, concatenated."""
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(len(offsets), dtype=np.int64) - offsets
