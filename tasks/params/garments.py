"""The products a design is made for: their sizes, where they can be printed, and how
large each print area is, in inches, per product, placement and size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ProductType = Literal["t_shirt", "hoodie", "tote_bag"]
Placement = Literal["front_center", "left_chest", "full_front"]
PrintProcess = Literal["screen", "dtg", "embroidery"]

PRODUCT_TYPES: tuple[ProductType, ...] = ("t_shirt", "hoodie", "tote_bag")
PLACEMENTS: tuple[Placement, ...] = ("front_center", "left_chest", "full_front")
PRINT_PROCESSES: tuple[PrintProcess, ...] = ("screen", "dtg", "embroidery")
GARMENT_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
ONE_SIZE = "ONE_SIZE"
PRINT_DPI = 300


@dataclass(frozen=True)
class Rect:
    """A rectangle in inches: `left`, `top` of its corner, `width`, `height`."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def centre(self) -> tuple[float, float]:
        return (self.left + self.width / 2, self.top + self.height / 2)

    def union(self, other: Rect) -> Rect:
        left, top = min(self.left, other.left), min(self.top, other.top)
        right, bottom = max(self.right, other.right), max(self.bottom, other.bottom)
        return Rect(left, top, right - left, bottom - top)


@dataclass(frozen=True)
class Product:
    """A product: its sizes (the first default), and the print area of each placement
    at the default size as (width, height, top) in inches; `top` is how far the area's
    top edge sits below the high point of the shoulder (the bag's top edge for a tote)
    and `centre_x` how far right of the centre line, as seen from the front."""

    sizes: tuple[str, ...]
    default_size: str
    areas: dict[Placement, tuple[float, float, float, float]]
    # How much smaller or larger each size's print areas are than the default size's:
    # platens and hoops come in a few sizes, so only the smallest garments get less.
    size_factors: dict[str, float]


PRODUCTS: dict[ProductType, Product] = {
    "t_shirt": Product(
        sizes=GARMENT_SIZES,
        default_size="M",
        areas={
            "front_center": (12.0, 16.0, 3.5, 0.0),
            "left_chest": (4.0, 4.0, 4.5, 4.5),
            "full_front": (14.0, 19.0, 3.0, 0.0),
        },
        size_factors={"XS": 0.84, "S": 0.92},
    ),
    "hoodie": Product(
        sizes=GARMENT_SIZES,
        default_size="M",
        areas={
            "front_center": (12.0, 10.0, 5.0, 0.0),
            "left_chest": (4.0, 4.0, 5.0, 4.75),
            "full_front": (14.0, 11.0, 4.0, 0.0),
        },
        size_factors={"XS": 0.84, "S": 0.92},
    ),
    "tote_bag": Product(
        sizes=(ONE_SIZE,),
        default_size=ONE_SIZE,
        areas={
            "front_center": (10.0, 10.0, 3.5, 0.0),
            "full_front": (13.0, 13.5, 1.75, 0.0),
        },
        size_factors={},
    ),
}


def print_area(product: ProductType, placement: Placement, size: str) -> Rect:
    """The print area of `placement` on `product` in `size`, in inches: x from the
    product's centre line, y down from its reference point (see `Product`). Raises
    KeyError for a placement the product lacks."""
    width, height, top, centre_x = PRODUCTS[product].areas[placement]
    factor = PRODUCTS[product].size_factors.get(size, 1.0)
    width, height = round(width * factor, 2), round(height * factor, 2)
    return Rect(centre_x - width / 2, top, width, height)


def print_size_px(area: Rect) -> tuple[int, int]:
    """The print file's width and height in pixels at `PRINT_DPI`."""
    return round(area.width * PRINT_DPI), round(area.height * PRINT_DPI)


def placements_of(product: ProductType) -> tuple[Placement, ...]:
    return tuple(PRODUCTS[product].areas)
