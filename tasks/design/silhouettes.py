"""What each product looks like from the front, as drawing data: the outline of each
panel (back to front), and the seams, stitching, folds and cords drawn over them. All in
inches, x to the right of the centre line and y down from the product's reference point
(the high point of the shoulder; a tote's top edge), as `garments.Product` places its
print areas, so a print area drawn on a silhouette lands where it would be printed."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from tasks.design.garments import ProductType

Point = tuple[float, float]
Path = tuple[Point, ...]
StrokeKind = Literal["fold", "highlight", "seam", "stitch", "cord", "metal", "shadow"]
Texture = Literal["jersey", "fleece", "canvas"]


@dataclass(frozen=True)
class Panel:
    """A closed outline filled with the fabric, its colour times `tone` (an inside seen
    through an opening is darker); `ribbed` panels show knitted ribs running `rib_angle`
    degrees from vertical."""

    outline: Path
    tone: float = 1.0
    ribbed: bool = False
    rib_angle: float = 0.0


@dataclass(frozen=True)
class Stroke:
    """A line drawn over the panels: a soft fold or highlight, a seam, a dashed line of
    stitching, a cord, a metal tip."""

    path: Path
    width_in: float
    kind: StrokeKind


@dataclass(frozen=True)
class Silhouette:
    """A product's front view; `px_per_in` fits it into the 1024-pixel preview."""

    panels: tuple[Panel, ...]
    strokes: tuple[Stroke, ...]
    px_per_in: float
    texture: Texture


def smooth(points: Sequence[Point], samples: int = 10) -> Path:
    """A Catmull-Rom curve through `points`, `samples` segments between each pair."""
    p = np.array([points[0], *points, points[-1]], dtype=np.float64)
    t = np.linspace(0, 1, samples, endpoint=False)[:, None]
    out = []
    for n in range(1, len(p) - 2):
        a, b, c, d = p[n - 1], p[n], p[n + 1], p[n + 2]
        out.append(
            0.5
            * (
                2 * b
                + (c - a) * t
                + (2 * a - 5 * b + 4 * c - d) * t**2
                + (3 * b - a - 3 * c + d) * t**3
            )
        )
    out.append(p[-2][None, :])
    return tuple((float(x), float(y)) for x, y in np.concatenate(out))


def mirrored(right: Path) -> Path:
    """A closed outline from its right half, listed from the centre line round to it."""
    return right + tuple((-x, y) for x, y in reversed(right))


def across(right: Path) -> Path:
    """An open path from its right half, listed from the centre line: left end to right end."""
    return tuple((-x, y) for x, y in reversed(right)) + right[1:]


def flipped(path: Path) -> Path:
    """The same path on the other side of the centre line."""
    return tuple((-x, y) for x, y in path)


def both_sides(path: Path, width: float, kind: StrokeKind) -> tuple[Stroke, Stroke]:
    return Stroke(path, width, kind), Stroke(flipped(path), width, kind)


def t_shirt() -> Silhouette:
    """A crew-neck t-shirt, size M, laid flat: the back of the collar and the inside of
    the back seen through the neck opening."""
    neckline = smooth([(0, 3.3), (2.2, 2.6), (3.3, 1.2), (3.6, 0)])
    armhole = smooth([(9.1, 1.7), (9.35, 5.4), (10.0, 9.2)])
    body = mirrored(
        neckline
        + armhole
        + smooth([(10.0, 9.2), (9.75, 17), (10.3, 28.4)])
        + ((5, 28.65), (0, 28.7))
    )
    sleeve = (
        smooth([(9.1, 1.7), (12.4, 3.3), (15.4, 5.6)], 6)
        + smooth([(15.4, 5.6), (14.0, 8.2), (12.6, 10.6)], 4)
        + ((11.3, 9.9),)
        + armhole[::-1]
    )
    neck = mirrored(smooth([(0, 0.6), (2, 0.45), (3.6, 0)], 6) + neckline[::-1])
    opening = mirrored(
        smooth([(0, 1.15), (1.8, 0.95), (3.1, 0.35)], 6)
        + smooth([(3.1, 0.35), (2.9, 1.1), (1.9, 2.0), (0, 2.5)], 6)
    )
    strokes = (
        *both_sides(((3.6, 0), (9.1, 1.7)), 0.05, "seam"),
        *both_sides(armhole, 0.06, "seam"),
        *both_sides(((15.0, 6.3), (13.0, 9.9)), 0.04, "stitch"),
        Stroke(((-10.2, 27.75), (10.2, 27.75)), 0.04, "stitch"),
        Stroke(
            across(smooth([(0, 3.15), (2.1, 2.45), (3.15, 1.15), (3.5, 0.1)], 6)), 0.035, "stitch"
        ),
        *both_sides(smooth([(9.7, 10.4), (8.6, 11.8), (7.3, 13.2)]), 0.35, "fold"),
        *both_sides(smooth([(9.6, 12.6), (8.6, 14.6), (8.0, 16.4)]), 0.3, "fold"),
        Stroke(smooth([(-6.0, 28.2), (-5.6, 26.4), (-5.1, 24.6)]), 0.4, "fold"),
        Stroke(smooth([(4.2, 28.3), (4.5, 26.8), (4.9, 25.2)]), 0.35, "fold"),
        Stroke(smooth([(11.0, 3.9), (12.0, 6.0), (12.3, 8.1)]), 0.3, "fold"),
        Stroke(smooth([(-2.5, 6.0), (-3.4, 14.0), (-3.0, 24.0)]), 2.6, "highlight"),
        *both_sides(smooth([(9.2, 2.2), (9.3, 5.0), (9.8, 8.6)]), 0.35, "shadow"),
    )
    panels = (
        Panel(sleeve, 0.97),
        Panel(flipped(sleeve), 0.97),
        Panel(body),
        Panel(neck, 0.96, True, 0),
        Panel(opening, 0.62),
    )
    return Silhouette(panels, strokes, px_per_in=29.0, texture="jersey")


def hoodie() -> Silhouette:
    """A pullover hoodie, size M, laid flat: the hood lying behind the neck, drawstrings
    over the chest, a kangaroo pocket, ribbed cuffs and waistband."""
    armhole = smooth([(10.0, 2.4), (10.4, 6.5), (11.0, 10.6)])
    body = mirrored(
        smooth([(0, 3.0), (2.5, 2.3), (4.0, 0.4)], 6)
        + armhole
        + smooth([(11.0, 10.6), (10.9, 18.0), (10.8, 24.6)])
        + ((10.3, 24.6), (0, 24.6))
    )
    waistband = mirrored(((0, 24.4), (10.8, 24.4), (10.3, 27.2), (0, 27.3)))
    sleeve = (
        *smooth([(10.0, 2.4), (13.6, 9.0), (16.6, 22.6)]),
        (13.4, 23.6),
        *smooth([(13.4, 23.6), (12.2, 16.0), (11.0, 10.6)]),
        *armhole[::-1],
    )
    cuff = ((16.6, 22.4), (17.1, 25.2), (14.2, 26.3), (13.4, 23.4))
    hood = mirrored(
        (*smooth([(0, -4.6), (4.2, -4.0), (6.6, -1.2), (6.4, 2.0), (4.0, 3.0)]), (0, 3.0))
    )
    lining = mirrored(smooth([(0, -3.3), (3.6, -2.6), (5.1, -0.4), (4.3, 2.0), (0, 4.6)]))
    rim = smooth([(-0.3, 4.9), (4.6, 2.2), (5.5, -0.4), (3.9, -2.9), (0, -3.6)])
    pocket = mirrored(
        (
            (0, 15.6),
            (5.6, 15.6),
            *smooth([(5.6, 15.6), (7.4, 16.9), (8.6, 21.0)]),
            (8.7, 24.0),
            (0, 24.0),
        )
    )
    strokes = (
        Stroke(rim, 0.75, "cord"),
        Stroke(flipped(rim), 0.75, "cord"),
        *both_sides(armhole, 0.06, "seam"),
        Stroke(pocket, 0.05, "seam"),
        Stroke(tuple((x, y + 0.35) for x, y in ((-5.5, 15.6), (5.5, 15.6))), 0.04, "stitch"),
        *both_sides(smooth([(5.9, 16.1), (7.5, 17.4), (8.4, 21.0)]), 0.05, "stitch"),
        *both_sides(smooth([(5.6, 15.7), (7.4, 17.0), (8.6, 21.1)]), 0.32, "shadow"),
        *both_sides(smooth([(1.4, 3.9), (1.6, 7.0), (1.9, 10.6)]), 0.34, "cord"),
        *both_sides(((1.9, 10.4), (1.95, 11.6)), 0.42, "metal"),
        *both_sides(smooth([(10.6, 11.6), (9.6, 13.0), (8.6, 14.2)]), 0.35, "fold"),
        *both_sides(smooth([(12.4, 8.0), (13.2, 13.0), (14.5, 19.0)]), 0.35, "fold"),
        Stroke(smooth([(-3.0, 6.0), (-3.8, 11.0), (-3.4, 15.0)]), 2.4, "highlight"),
        Stroke(smooth([(-4.2, -1.5), (0, -2.9), (4.2, -1.5)]), 1.2, "shadow"),
        Stroke(((0, -3.2), (0, 1.0)), 0.05, "seam"),
        *both_sides(smooth([(13.9, 12.0), (15.1, 16.5), (15.7, 21.0)]), 0.9, "highlight"),
    )
    panels = (
        Panel(hood, 0.95), Panel(sleeve, 0.96), Panel(flipped(sleeve), 0.96),
        Panel(cuff, 0.93, True, 18), Panel(flipped(cuff), 0.93, True, -18),
        Panel(body), Panel(waistband, 0.95, True, 0), Panel(lining, 0.66), Panel(pocket, 1.0),
    )  # fmt: skip
    return Silhouette(panels, strokes, px_per_in=26.5, texture="fleece")


def tote_bag() -> Silhouette:
    """A canvas tote with a hemmed top and two handles, the back one seen behind."""
    bag = mirrored(
        (
            (0, 0),
            (7.5, 0),
            (7.5, 15.4),
            *smooth([(7.5, 15.4), (7.35, 15.85), (6.9, 16.0)], 4),
            (0, 16.0),
        )
    )
    hem = mirrored(((0, 0), (7.5, 0), (7.5, 1.3), (0, 1.3)))
    handle = smooth(
        [(-3.5, 1.6), (-3.5, -1.5), (-2.9, -8.2), (0, -11.0), (2.9, -8.2), (3.5, -1.5), (3.5, 1.6)]
    )
    back_handle = smooth(
        [(-3.0, 0.2), (-3.4, -2.0), (-2.8, -8.0), (0, -10.3), (2.8, -8.0), (3.4, -2.0), (3.0, 0.2)]
    )
    boxes = [
        (
            (x - 0.5, 0.25),
            (x + 0.5, 0.25),
            (x + 0.5, 1.75),
            (x - 0.5, 1.75),
            (x - 0.5, 0.25),
            (x + 0.5, 1.75),
        )
        for x in (3.5, -3.5)
    ]
    strokes = (
        Stroke(back_handle, 1.05, "shadow"),
        Stroke(((-7.45, 1.15), (7.45, 1.15)), 0.035, "stitch"),
        Stroke(handle, 1.0, "cord"),
        Stroke(tuple((x + 0.38, y) for x, y in handle), 0.03, "stitch"),
        Stroke(tuple((x - 0.38, y) for x, y in handle), 0.03, "stitch"),
        *(Stroke(box, 0.03, "stitch") for box in boxes),
        Stroke(smooth([(-6.2, 15.8), (-5.6, 13.6), (-5.0, 11.8)]), 0.35, "fold"),
        Stroke(smooth([(6.6, 15.7), (6.1, 14.2)]), 0.3, "fold"),
        Stroke(smooth([(-2.0, 3.0), (-2.6, 9.0), (-2.2, 14.0)]), 2.2, "highlight"),
    )
    panels = (Panel(bag), Panel(hem, 0.97))
    return Silhouette(panels, strokes, px_per_in=31.0, texture="canvas")


@functools.cache
def silhouette(product: ProductType) -> Silhouette:
    """The front view of `product` (built once: silhouettes never change)."""
    return {"t_shirt": t_shirt, "hoodie": hoodie, "tote_bag": tote_bag}[product]()
