"""Whether a design can be produced, and how well: pure rules over what its artwork
measures, and feasible variants of a request that fails them.

Blocking (the design is infeasible; the job fails with `InfeasibleDesign`):
  - screen printing with more screens than a press holds (`MAX_SCREENS`; a dark fabric
    adds a white underbase screen);
  - ink beyond the print area (the platen or hoop cannot reach it);
  - an image printed below `MIN_BLOCKING_DPI` (every pixel shows as a block);
  - embroidery with more thread colours than the machine's needles (`MAX_THREADS`), or
    larger than its biggest hoop (`HOOP_IN`).
Warnings (the design is delivered, but not production ready until a person accepts it):
  - a dominant ink, or the text's ink, too close to the fabric's colour to be seen
    (CIEDE2000 below `MIN_CONTRAST_DE`);
  - an image printed below `MIN_DPI` (soft, visibly pixelated up close);
  - embroidered text lower than `MIN_EMBROIDERED_TEXT_IN` (stitches cannot form it);
  - text characters the shipped font lacks (they would print as boxes).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from pydantic import BaseModel

from tasks.design.artwork import build_artwork
from tasks.design.colours import (
    MIN_CONTRAST_DE,
    colour_difference,
    colour_rgb,
    contrasting_ink,
    is_dark,
    rgb_hex,
)
from tasks.design.garments import print_area
from tasks.design.image import ImageFacts, load_design_image
from tasks.design.ink_analysis import Analysis, analyse
from tasks.design.params import DesignParams, DesignText, SolidPattern, StripesPattern
from tasks.errors import InvalidInput

MAX_SCREENS = 6
MAX_THREADS = 12
HOOP_IN = (10.0, 10.0)
MIN_DPI, MIN_BLOCKING_DPI = 150.0, 72.0
MIN_EMBROIDERED_TEXT_IN = 0.25
DOMINANT_SHARE = 0.25  # of the inked area: an ink covering less is a detail
ASSESS_WORKING_PIXELS = 1_000_000  # an image is judged from a copy this small
STAND_IN_SIDE_PX = 256  # the longer side of the one-ink stand-in for an image known by its facts
Change = dict[str, Any]
__all__ = ["Analysis", "Verdict", "alternatives", "analyse", "assess", "check", "findings"]


@dataclass(frozen=True)
class Finding:
    """One rule a design breaks: which, why (for a person), and whether it blocks."""

    rule: str
    message: str
    blocking: bool


@dataclass(frozen=True)
class Verdict:
    """Feasible: it can be produced. Production ready: feasible with no warnings."""

    feasible: bool
    production_ready: bool
    reasons: tuple[str, ...]
    warnings: tuple[str, ...]


def check(params: DesignParams, analysis: Analysis) -> Verdict:
    """The verdict on `params` whose artwork measured `analysis`."""
    found = findings(params, analysis)
    reasons = tuple(f.message for f in found if f.blocking)
    warnings = tuple(f.message for f in found if not f.blocking)
    return Verdict(not reasons, not reasons and not warnings, reasons, warnings)


def findings(params: DesignParams, analysis: Analysis) -> list[Finding]:
    """Every rule `params` breaks, in the order of `RULES`."""
    return [f for rule in RULES if (f := rule(params, analysis)) is not None]


def screens(params: DesignParams, analysis: Analysis) -> Finding | None:
    underbase = is_dark(colour_rgb(params.color)) and analysis.colour_count > 0
    needed = analysis.colour_count + underbase
    if params.print_process != "screen" or needed <= MAX_SCREENS:
        return None
    why = f"{analysis.colour_count} inks" + (" and a white underbase" if underbase else "")
    return Finding(
        "screen_colours",
        f"screen printing takes at most {MAX_SCREENS} screens; this design needs {needed} ({why})",
        True,
    )


def outside(params: DesignParams, analysis: Analysis) -> Finding | None:
    ink, area, slack = analysis.ink_bounds, analysis.print_area, analysis.pixel_in
    if ink is None:
        return None
    over = {
        "left": area.left - ink.left,
        "right": ink.right - area.right,
        "top": area.top - ink.top,
        "bottom": ink.bottom - area.bottom,
    }
    beyond = {side: d for side, d in over.items() if d > slack}
    if not beyond:
        return None
    sides = ", ".join(f"{d:.1f} in past the {side} edge" for side, d in beyond.items())
    return Finding("outside_print_area", f"the artwork goes beyond the print area ({sides})", True)


def resolution(params: DesignParams, analysis: Analysis) -> Finding | None:
    dpi = analysis.effective_dpi
    if dpi is None or dpi >= MIN_DPI:
        return None
    blocking = dpi < MIN_BLOCKING_DPI
    need = MIN_BLOCKING_DPI if blocking else MIN_DPI
    message = f"the image's resolution is too low: {dpi:.0f} dpi at this size, {need:.0f} needed"
    return Finding("low_resolution", message, blocking)


def threads(params: DesignParams, analysis: Analysis) -> Finding | None:
    if params.print_process != "embroidery" or analysis.colour_count <= MAX_THREADS:
        return None
    count = analysis.colour_count
    message = f"embroidery takes at most {MAX_THREADS} thread colours; this design has {count}"
    return Finding("embroidery_colours", message, True)


def hoop(params: DesignParams, analysis: Analysis) -> Finding | None:
    ink = analysis.ink_bounds
    if params.print_process != "embroidery" or ink is None:
        return None
    if ink.width <= HOOP_IN[0] + analysis.pixel_in and ink.height <= HOOP_IN[1] + analysis.pixel_in:
        return None
    message = (
        f"embroidery fits a {HOOP_IN[0]:g} × {HOOP_IN[1]:g} in hoop; "
        f"this design is {ink.width:.1f} × {ink.height:.1f} in"
    )
    return Finding("embroidery_size", message, True)


def contrast(params: DesignParams, analysis: Analysis) -> Finding | None:
    fabric = colour_rgb(params.color)
    inked = max(analysis.inked_sq_in, 1e-9)
    dominant = [i.rgb for i in analysis.inks if i.area_sq_in / inked >= DOMINANT_SHARE]
    near = [
        ink
        for ink in dict.fromkeys([*dominant, *([analysis.text_ink] if analysis.text_ink else [])])
        if colour_difference(ink, fabric) < MIN_CONTRAST_DE
    ]
    if not near:
        return None
    inks = ", ".join(rgb_hex(i) for i in near)
    message = f"ink {inks} is too close to the fabric colour {rgb_hex(fabric)} to show clearly"
    return Finding("low_contrast", message, False)


def embroidered_text(params: DesignParams, analysis: Analysis) -> Finding | None:
    height = analysis.text_height_in
    if params.print_process != "embroidery" or height is None or height >= MIN_EMBROIDERED_TEXT_IN:
        return None
    message = f"the text is {height:.2f} in high; embroidery needs {MIN_EMBROIDERED_TEXT_IN} in"
    return Finding("embroidery_detail", message, False)


def glyphs(params: DesignParams, analysis: Analysis) -> Finding | None:
    if not analysis.missing_glyphs:
        return None
    message = (
        f"the font has no glyph for {''.join(analysis.missing_glyphs)}; it would print as boxes"
    )
    return Finding("missing_glyphs", message, False)


RULES: tuple[Callable[[DesignParams, Analysis], Finding | None], ...] = (
    screens, outside, resolution, threads, hoop, contrast, embroidered_text, glyphs,
)  # fmt: skip


SourceImage = tuple[Image.Image, tuple[int, int]]
# An image pattern's image: a file or an opened image (decoded, small), or only its facts.
ImageSource = Path | Image.Image | ImageFacts


def read_image(params: DesignParams, image: ImageSource | None) -> SourceImage | None:
    """An image pattern's image read small (enough to measure) with its own size, or
    for `ImageFacts` a stand-in of its size; None for other patterns."""
    if params.pattern.type != "image":
        return None
    if image is None:
        raise InvalidInput("an image pattern needs its image")
    if isinstance(image, ImageFacts):
        return stand_in(image, contrasting_ink(colour_rgb(params.color))), image.size
    return load_design_image(image, ASSESS_WORKING_PIXELS)


def stand_in(facts: ImageFacts, ink: tuple[int, int, int]) -> Image.Image:
    """An image known only by its header, as one opaque ink filling its proportions:
    what its size decides (resolution, print area, hoop) is judged exactly; what its
    pixels decide (inks, contrast, transparent margins) waits for the worker."""
    factor = STAND_IN_SIDE_PX / max(facts.width, facts.height)
    size = (max(1, round(facts.width * factor)), max(1, round(facts.height * factor)))
    return Image.new("RGBA", size, (*ink, 255))


def measured(params: DesignParams, source: SourceImage | None) -> Analysis:
    """The analysis of the artwork of `params`, drawn from `source` for an image pattern."""
    loaded, size = source or (None, None)
    area = print_area(params.product_type, params.placement, params.size)
    return analyse(params, build_artwork(params, area, loaded, size))


def assess(params: BaseModel, image: ImageSource | None = None) -> Verdict:
    """The verdict on `params` (`DesignParams`), from a coarse drawing of its artwork
    (a few ms; an image pattern's `image` costs its decoding on top)."""
    assert isinstance(params, DesignParams)
    return check(params, measured(params, read_image(params, image)))


def alternatives(params: BaseModel, image: ImageSource | None = None) -> list[DesignParams]:
    """Variants of `params` (`DesignParams`) that fix what it breaks, each checked: only
    feasible ones, the production-ready first. For a request already production ready,
    none. `image` is an image pattern's image, or in the API only its facts."""
    assert isinstance(params, DesignParams)
    source = read_image(params, image)
    analysis = measured(params, source)
    verdict = check(params, analysis)
    if verdict.production_ready:
        return []
    kept: list[tuple[bool, DesignParams]] = []
    for candidate in candidates(params, analysis):
        judged = check(candidate, measured(candidate, source))
        if judged.feasible and (not verdict.feasible or judged.production_ready):
            kept.append((judged.production_ready, candidate))
    return [c for ready, c in kept if ready] + [c for ready, c in kept if not ready]


def candidates(params: DesignParams, analysis: Analysis) -> list[DesignParams]:
    """Variants that each fix one finding, then one fixing them all; no repeats."""
    per_finding = [FIXES[f.rule](params, analysis) for f in findings(params, analysis)]
    fixes = [fix for changes in per_finding for fix in changes]
    combined: Change = {}
    for changes in per_finding:
        combined.update(changes[0] if changes else {})
    seen, out = set(), []
    for change in [*fixes, combined]:
        if not change:
            continue
        variant = DesignParams.model_validate({**params.model_dump(exclude_none=True), **change})
        key = variant.model_dump_json()
        if variant != params and key not in seen:
            seen.add(key)
            out.append(variant)
    return out


def fewer_screens(params: DesignParams, analysis: Analysis) -> list[Change]:
    underbase = is_dark(colour_rgb(params.color))
    return [{"max_colors": MAX_SCREENS - underbase}, {"print_process": "dtg"}]


def inside_area(params: DesignParams, analysis: Analysis) -> list[Change]:
    return [{"offset_x_in": 0.0, "offset_y_in": 0.0, "scale": min(params.scale, 1.0)}]


def sharper(params: DesignParams, analysis: Analysis) -> list[Change]:
    """Print the image smaller, where its pixels are denser: sharp if it can be, else
    at least printable."""
    dpi = analysis.effective_dpi or MIN_DPI
    changes: list[Change] = []
    for need in (MIN_DPI, MIN_BLOCKING_DPI):
        scale = math.floor(params.scale * dpi / need * 100) / 100
        if scale >= 0.1:
            changes.append({"scale": scale})
            break
    if params.product_type != "tote_bag" and params.placement != "left_chest":
        changes.append({"placement": "left_chest"})
    return changes


def fewer_threads(params: DesignParams, analysis: Analysis) -> list[Change]:
    return [{"max_colors": MAX_THREADS}, {"print_process": "dtg"}]


def smaller_embroidery(params: DesignParams, analysis: Analysis) -> list[Change]:
    area = print_area(params.product_type, params.placement, params.size)
    fit = round(min(1.0, HOOP_IN[0] / area.width, HOOP_IN[1] / area.height) * 0.98, 2)
    changes: list[Change] = [{"scale": fit, "offset_x_in": 0.0, "offset_y_in": 0.0}]
    if params.product_type != "tote_bag":
        changes.append({"placement": "left_chest"})
    return [*changes, {"print_process": "dtg"}]


def contrasting(params: DesignParams, analysis: Analysis) -> list[Change]:
    """The pattern's and the text's inks that vanish into the fabric swapped for one that shows."""
    fabric = colour_rgb(params.color)
    strong = rgb_hex(contrasting_ink(fabric))

    def shown(colour: str) -> str:
        return (
            colour if colour_difference(colour_rgb(colour), fabric) >= MIN_CONTRAST_DE else strong
        )

    change: Change = {}
    pattern = params.pattern
    if isinstance(pattern, SolidPattern):
        change["pattern"] = {"type": "solid", "color": shown(pattern.color)}
    elif isinstance(pattern, StripesPattern):
        colours = [shown(c) for c in pattern.colors]
        change["pattern"] = {**pattern.model_dump(), "colors": colours}
    if params.text is not None:
        change["text"] = DesignText(content=params.text.content, color=strong).model_dump()
    return [change] if change else []


def plainer_text(params: DesignParams, analysis: Analysis) -> list[Change]:
    return [{"print_process": "dtg"}]


def printable_text(params: DesignParams, analysis: Analysis) -> list[Change]:
    """The text without the characters the font lacks, if any are left."""
    assert params.text is not None
    kept = "".join(ch for ch in params.text.content if ch not in analysis.missing_glyphs).strip()
    return [{"text": {**params.text.model_dump(), "content": kept}}] if kept else []


FIXES: dict[str, Callable[[DesignParams, Analysis], list[Change]]] = {
    "screen_colours": fewer_screens,
    "outside_print_area": inside_area,
    "low_resolution": sharper,
    "embroidery_colours": fewer_threads,
    "embroidery_size": smaller_embroidery,
    "low_contrast": contrasting,
    "embroidery_detail": plainer_text,
    "missing_glyphs": printable_text,
}
