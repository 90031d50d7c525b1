"""Params of `design`: what a garment design request may say. Validation is pure and
cheap (no I/O, no drawing), so a dialect can check a batch of ten thousand up front."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tasks.params.colours import normalise_colour
from tasks.params.garments import (
    PLACEMENTS,
    PRINT_PROCESSES,
    PRODUCT_TYPES,
    PRODUCTS,
    Placement,
    PrintProcess,
    ProductType,
    placements_of,
)

Colour = Annotated[
    str,
    AfterValidator(normalise_colour),
    Field(description="a named colour (navy_blue, heather_grey, ...) or '#rrggbb'"),
]
FROZEN = ConfigDict(extra="forbid", frozen=True)
CHOICES: dict[str, tuple[str, ...]] = {
    "product_type": PRODUCT_TYPES,
    "print_process": PRINT_PROCESSES,
    "placement": PLACEMENTS,
}


class AiGeneratePattern(BaseModel):
    """Artwork drawn from a prompt: the same prompt and seed always give the same picture."""

    model_config = FROZEN

    type: Literal["ai_generate"]
    prompt: str = Field(min_length=1, max_length=200, description="any language, e.g. 科技感线条")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class SolidPattern(BaseModel):
    """One ink over the whole artwork area."""

    model_config = FROZEN

    type: Literal["solid"]
    color: Colour


class StripesPattern(BaseModel):
    """Bands of 2 to 6 inks in turn, `width_mm` wide, at `angle_deg` (0: horizontal)."""

    model_config = FROZEN

    type: Literal["stripes"]
    colors: tuple[Colour, ...] = Field(min_length=2, max_length=6)
    width_mm: float = Field(default=20.0, ge=2.0, le=200.0)
    angle_deg: float = Field(default=0.0, ge=0.0, lt=180.0)


class ImagePattern(BaseModel):
    """The customer's raster image, which the job receives as its input file."""

    model_config = FROZEN

    type: Literal["image"]
    file_id: str = Field(min_length=1, max_length=200)


Pattern = Annotated[
    AiGeneratePattern | SolidPattern | StripesPattern | ImagePattern,
    Field(discriminator="type"),
]


class DesignText(BaseModel):
    """A line of text set under the artwork; its ink contrasts with the fabric unless given."""

    model_config = FROZEN

    content: str = Field(min_length=1, max_length=60)
    color: Colour | None = None


class DesignParams(BaseModel):
    """Params of `design`: a product, its fabric colour and the artwork printed on it.

    `scale` resizes the artwork against its print area (1: it fills the area) and
    `offset_x_in`/`offset_y_in` move it from the area's centre, so artwork can be sent
    beyond the printable area, which feasibility then refuses. `max_colors` reduces the
    artwork to at most that many inks (fewer screens, fewer thread changes).
    """

    model_config = FROZEN

    product_type: ProductType
    size: str = Field(default="M", description="XS..XXL for garments, ONE_SIZE for a tote")
    color: Colour = "white"
    pattern: Pattern
    text: DesignText | None = None
    # Direct-to-garment by default: it prints any number of colours and photographs with
    # no set-up per colour, which suits the one-off, on-demand orders this API takes;
    # screen (bulk) and embroidery are asked for by name.
    print_process: PrintProcess = "dtg"
    placement: Placement = "front_center"
    scale: float = Field(default=1.0, ge=0.1, le=2.0)
    offset_x_in: float = Field(default=0.0, ge=-20.0, le=20.0)
    offset_y_in: float = Field(default=0.0, ge=-20.0, le=20.0)
    max_colors: int | None = Field(default=None, ge=1, le=16)

    @field_validator("product_type", "print_process", "placement", mode="before")
    @classmethod
    def _known_choice(cls, value: Any, info: ValidationInfo) -> Any:
        """Refuse an unknown choice with a message naming it; pydantic's own message lists
        the choices but not the value at fault."""
        choices = CHOICES[str(info.field_name)]
        if isinstance(value, str) and value not in choices:
            raise PydanticCustomError(
                "unknown_choice",
                "unknown {field} '{value}'; choose one of {choices}",
                {"field": info.field_name, "value": value, "choices": ", ".join(choices)},
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _product_size(cls, data: Any) -> Any:
        """No size means the product's default (M, or ONE_SIZE for a tote); case is free."""
        if not isinstance(data, dict):
            return data
        size = data.get("size")
        if size is None and data.get("product_type") in PRODUCTS:
            return {**data, "size": PRODUCTS[data["product_type"]].default_size}
        if isinstance(size, str):
            return {**data, "size": size.strip().upper()}
        return data

    @model_validator(mode="after")
    def _fits_product(self) -> DesignParams:
        product = PRODUCTS[self.product_type]
        if self.size not in product.sizes:
            raise PydanticCustomError(
                "unknown_size",
                "size '{size}' does not exist for {product}; choose one of {sizes}",
                {
                    "size": self.size,
                    "product": self.product_type,
                    "sizes": ", ".join(product.sizes),
                },
            )
        if self.placement not in product.areas:
            raise PydanticCustomError(
                "unknown_placement",
                "placement {placement} is not offered on {product}; choose one of {placements}",
                {
                    "placement": self.placement,
                    "product": self.product_type,
                    "placements": ", ".join(placements_of(self.product_type)),
                },
            )
        return self
