"""What making a design consumes: fabric by product and size, and ink or thread by
process and by the area each ink covers. Pure: numbers in, `Material`s out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from tasks.design.colours import RGB, is_dark, rgb_hex
from tasks.design.garments import PrintProcess, ProductType

MaterialType = Literal["fabric", "ink", "thread"]

# Fabric per product, metres off a 1.8 m wide roll by size, cutting waste included:
# FB-025 180 g/m² combed-cotton jersey, FB-112 320 g/m² brushed fleece (FB-118 its
# 1x1 rib for cuffs and waistband), FB-301 340 g/m² (10 oz) cotton canvas.
FABRICS: dict[ProductType, tuple[tuple[str, dict[str, float]], ...]] = {
    "t_shirt": (("FB-025", {"XS": 0.95, "S": 1.05, "M": 1.2, "L": 1.3, "XL": 1.4, "XXL": 1.55}),),
    "hoodie": (
        ("FB-112", {"XS": 1.6, "S": 1.75, "M": 1.9, "L": 2.05, "XL": 2.2, "XXL": 2.4}),
        ("FB-118", {"XS": 0.2, "S": 0.2, "M": 0.25, "L": 0.25, "XL": 0.3, "XXL": 0.3}),
    ),
    "tote_bag": (("FB-301", {"ONE_SIZE": 0.6}),),
}
# Ink laid down over a square inch of full coverage, in millilitres.
DTG_CMYK_ML_PER_SQ_IN = 0.02  # each of C, M, Y, K at 100 %
DTG_WHITE_ML_PER_SQ_IN = 0.08  # the white underbase on a dark garment
SCREEN_ML_PER_SQ_IN = 0.05  # plastisol through a 156-mesh screen, per ink
# Embroidery: fill stitches per square inch, and top thread per thousand stitches;
# the bobbin thread under them runs about a third of the top thread's length.
STITCHES_PER_SQ_IN = 1_500
THREAD_M_PER_1000_STITCHES = 4.8
BOBBIN_SHARE = 1 / 3


@dataclass(frozen=True)
class Material:
    """One material and how much of it a single product uses, e.g. "1.2m", "35ml"."""

    type: MaterialType
    code: str
    consumption: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class InkUse:
    """An ink of the artwork and the area it covers, in square inches."""

    rgb: RGB
    area_sq_in: float


def bill_of_materials(
    product: ProductType, size: str, process: PrintProcess, fabric: RGB, inks: Sequence[InkUse]
) -> list[Material]:
    """Fabric, then ink or thread, for one product in `size` with `inks` on `fabric`."""
    return [*fabrics(product, size), *decoration(process, fabric, inks)]


def fabrics(product: ProductType, size: str) -> list[Material]:
    """The fabrics `product` is cut from and the metres each takes in `size`."""
    return [Material("fabric", code, metres(table[size])) for code, table in FABRICS[product]]


def decoration(process: PrintProcess, fabric: RGB, inks: Sequence[InkUse]) -> list[Material]:
    """Inks (screen, DTG) or threads (embroidery) for `inks` on a `fabric`-coloured product."""
    inked = [i for i in inks if i.area_sq_in > 0]
    if not inked:
        return []
    if process == "screen":
        return screen_inks(fabric, inked)
    if process == "embroidery":
        return threads(inked)
    return dtg_inks(fabric, inked)


def screen_inks(fabric: RGB, inks: Sequence[InkUse]) -> list[Material]:
    """One spot ink per colour, and a white underbase under all of them on dark fabric."""
    spots = [
        Material(
            "ink",
            f"INK-SCR-{rgb_hex(i.rgb)[1:].upper()}",
            millilitres(i.area_sq_in * SCREEN_ML_PER_SQ_IN),
        )
        for i in inks
    ]
    if not is_dark(fabric):
        return spots
    total = sum(i.area_sq_in for i in inks)
    return [*spots, Material("ink", "INK-SCR-UNDERBASE", millilitres(total * SCREEN_ML_PER_SQ_IN))]


def dtg_inks(fabric: RGB, inks: Sequence[InkUse]) -> list[Material]:
    """Process inks by how much of each channel the colours need, and white underbase
    on dark fabric; a channel no colour uses is left out."""
    channels = [0.0, 0.0, 0.0, 0.0]
    for ink in inks:
        for n, amount in enumerate(cmyk(ink.rgb)):
            channels[n] += amount * ink.area_sq_in * DTG_CMYK_ML_PER_SQ_IN
    out = [
        Material("ink", f"INK-DTG-{name}", millilitres(ml))
        for name, ml in zip("CMYK", channels, strict=True)
        if ml > 0
    ]
    if is_dark(fabric):
        total = sum(i.area_sq_in for i in inks)
        out.append(Material("ink", "INK-DTG-W", millilitres(total * DTG_WHITE_ML_PER_SQ_IN)))
    return out


def threads(inks: Sequence[InkUse]) -> list[Material]:
    """A thread per colour, metres from the area it fills, then the bobbin thread."""
    top = [i.area_sq_in * STITCHES_PER_SQ_IN / 1000 * THREAD_M_PER_1000_STITCHES for i in inks]
    out = [
        Material("thread", f"THR-{rgb_hex(i.rgb)[1:].upper()}", whole_metres(m))
        for i, m in zip(inks, top, strict=True)
    ]
    return [*out, Material("thread", "THR-BOBBIN-WHITE", whole_metres(sum(top) * BOBBIN_SHARE))]


def cmyk(rgb: RGB) -> tuple[float, float, float, float]:
    """The naive CMYK split of an sRGB colour (each 0..1): what a DTG RIP lays down."""
    r, g, b = (c / 255 for c in rgb)
    k = 1 - max(r, g, b)
    if k >= 1:
        return (0.0, 0.0, 0.0, 1.0)
    return ((1 - r - k) / (1 - k), (1 - g - k) / (1 - k), (1 - b - k) / (1 - k), k)


def metres(value: float) -> str:
    return f"{round(value, 2):g}m"


def millilitres(value: float) -> str:
    """Tenths of a millilitre; any use at all shows as at least 0.1ml."""
    return f"{max(0.1, round(value, 1)):.1f}ml"


def whole_metres(value: float) -> str:
    """Whole metres, rounded up: thread is wound off by the metre."""
    return f"{max(1, math.ceil(value - 1e-9))}m"
