"""The products a design is made for, kept in `tasks.params.garments` so the API checks a
request against them without loading the drawing stack; re-exported here for the design
modules."""

from tasks.params.garments import (
    GARMENT_SIZES,
    ONE_SIZE,
    PLACEMENTS,
    PRINT_DPI,
    PRINT_PROCESSES,
    PRODUCT_TYPES,
    PRODUCTS,
    Placement,
    PrintProcess,
    Product,
    ProductType,
    Rect,
    placements_of,
    print_area,
    print_size_px,
)

__all__ = [
    "GARMENT_SIZES",
    "ONE_SIZE",
    "PLACEMENTS",
    "PRINT_DPI",
    "PRINT_PROCESSES",
    "PRODUCTS",
    "PRODUCT_TYPES",
    "Placement",
    "PrintProcess",
    "Product",
    "ProductType",
    "Rect",
    "placements_of",
    "print_area",
    "print_size_px",
]
