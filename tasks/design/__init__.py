"""Garment designs (`design` queue): a product, its colour and artwork → a preview of
the product wearing the design, the print file of its print area at 300 dpi, and what
producing it takes. A request that cannot be produced fails as `InfeasibleDesign`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from tasks.design.artwork import Artwork, Canvas, build_artwork, draw
from tasks.design.colours import colour_hex, colour_rgb
from tasks.design.feasibility import Verdict, check
from tasks.design.image import load_design_image
from tasks.design.ink_analysis import Analysis, analyse
from tasks.design.materials import InkUse, bill_of_materials
from tasks.design.mockup import SUPERSAMPLE, render_mockup
from tasks.design.silhouettes import silhouette
from tasks.errors import InfeasibleDesign, InvalidInput
from tasks.params.design import DesignParams
from tasks.params.garments import PRINT_DPI, Rect, print_area
from tasks.types import JobContext, JobOutcome

__all__ = ["DesignParams", "run_design"]
PREVIEW_NAME, PRINT_NAME = "preview.png", "print.png"
# zlib's fastest level: a flat-ink print file compresses almost as well as at level 9
# (few runs to find), and at 300 dpi a higher level costs several times as long.
PRINT_COMPRESS_LEVEL = 1
PREVIEW_COMPRESS_LEVEL = 3


def run_design(ctx: JobContext) -> JobOutcome:
    """Draw the design of `ctx.params` (an image pattern's image is the single input):
    `preview.png` and `print.png` in the work directory, and the result `describe` gives."""
    params = ctx.params
    assert isinstance(params, DesignParams)
    area = print_area(params.product_type, params.placement, params.size)
    artwork = build_artwork(params, area, *_pattern_image(params, ctx.inputs))
    analysis = analyse(params, artwork)
    verdict = check(params, analysis)
    if not verdict.feasible:
        raise InfeasibleDesign(list(verdict.reasons))
    ctx.progress(15, "artwork")
    preview = write_preview(ctx.workdir / PREVIEW_NAME, params, artwork, area)
    ctx.progress(40, "preview")
    printed = write_print(ctx.workdir / PRINT_NAME, artwork)
    ctx.progress(90, "print")
    result = describe(params, area, analysis, verdict)
    ctx.progress(100, "materials")
    return JobOutcome(result=result, outputs=(preview, printed))


def _pattern_image(
    params: DesignParams, inputs: tuple[Path, ...]
) -> tuple[Image.Image | None, tuple[int, int] | None]:
    if params.pattern.type != "image":
        return None, None
    if len(inputs) != 1:
        raise InvalidInput("an image pattern takes its image as the job's single input file")
    return load_design_image(inputs[0])


def write_preview(path: Path, params: DesignParams, artwork: Artwork, area: Rect) -> Path:
    """The product in its colour wearing the artwork, 1024 × 1024."""
    shape = silhouette(params.product_type)
    ink = draw(artwork, Canvas(artwork.layout.area, shape.px_per_in * SUPERSAMPLE))
    image = render_mockup(shape, colour_rgb(params.color), ink, area)
    image.save(path, format="PNG", compress_level=PREVIEW_COMPRESS_LEVEL)
    return path


def write_print(path: Path, artwork: Artwork) -> Path:
    """The print area alone at `PRINT_DPI`, transparent where no ink goes."""
    image = draw(artwork, Canvas(artwork.layout.area, PRINT_DPI))
    options: dict[str, Any] = {"transparency": 0} if image.mode == "P" else {}
    image.save(
        path,
        format="PNG",
        compress_level=PRINT_COMPRESS_LEVEL,
        dpi=(PRINT_DPI, PRINT_DPI),
        **options,
    )
    return path


def describe(
    params: DesignParams, area: Rect, analysis: Analysis, verdict: Verdict
) -> dict[str, Any]:
    """The job's result: the product, readiness and warnings, the print area, and the
    bill of materials for one piece."""
    inks = [InkUse(i.rgb, i.area_sq_in) for i in analysis.inks]
    fabric = colour_rgb(params.color)
    materials = bill_of_materials(
        params.product_type, params.size, params.print_process, fabric, inks
    )
    return {
        "product_type": params.product_type,
        "size": params.size,
        "color": colour_hex(params.color),
        "print_process": params.print_process,
        "placement": params.placement,
        "production_ready": verdict.production_ready,
        "materials": [m.as_dict() for m in materials],
        "warnings": list(verdict.warnings),
        "print_area": {"width_in": area.width, "height_in": area.height, "dpi": PRINT_DPI},
        "colour_count": analysis.colour_count,
    }
