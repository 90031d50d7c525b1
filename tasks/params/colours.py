"""The colours a request may name: garment and stock ink names, or `#rrggbb`."""

from __future__ import annotations

import re

from pydantic_core import PydanticCustomError

HEX_PATTERN = re.compile(r"^#[0-9a-f]{6}$")
# Garment colours as dyed fabric shows them (a garment "black" is never pure black),
# and the stock ink colours a pattern or text may name.
NAMED_COLOURS: dict[str, str] = {
    "white": "#ffffff",
    "black": "#1b1b1d",
    "navy_blue": "#1f2a44",
    "heather_grey": "#a3a4a6",
    "charcoal": "#3c3d40",
    "red": "#b3202a",
    "maroon": "#5b1f2c",
    "forest_green": "#244a32",
    "royal_blue": "#2a4fa3",
    "sky_blue": "#8ec3e6",
    "pink": "#f3b6c8",
    "yellow": "#f5cc3a",
    "orange": "#e4692b",
    "purple": "#563a88",
    "olive": "#66663a",
    "teal": "#1f7a7a",
    "brown": "#5e3b26",
    "sand": "#d9c9a6",
    "natural": "#efe6d1",
    "cream": "#f6efdc",
    "gold": "#c9a227",
    "silver": "#c0c2c4",
}


def normalise_colour(value: object) -> str:
    """A colour field's value in normal form: a known name (lower case, underscores) or
    `#rrggbb` in lower case; a `PydanticCustomError` listing valid names otherwise."""
    if not isinstance(value, str):
        raise PydanticCustomError("colour_type", "a color is a name or '#rrggbb'")
    text = value.strip().lower().replace("-", "_").replace(" ", "_")
    if text in NAMED_COLOURS or HEX_PATTERN.match(text):
        return text
    some = ", ".join(list(NAMED_COLOURS)[:12])
    raise PydanticCustomError(
        "unknown_colour",
        "unknown color '{value}'; use '#rrggbb' or a name such as {names}, ...",
        {"value": value, "names": some},
    )
