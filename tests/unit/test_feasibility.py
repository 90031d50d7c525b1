"""Feasibility: the pure rules over measured artwork, the quick assessment an API call
makes, and alternatives that are always feasible."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tasks.design.colours import colour_difference, delta_e2000
from tasks.design.feasibility import alternatives, assess, check
from tasks.design.garments import Rect
from tasks.design.image import ImageFacts
from tasks.design.ink_analysis import Analysis, InkArea
from tasks.design.params import DesignParams

WHITE, BLACK, RED = (255, 255, 255), (27, 27, 29), (200, 30, 40)


def design(**overrides: Any) -> DesignParams:
    """A feasible t-shirt design, changed by `overrides`."""
    fields: dict[str, Any] = {
        "product_type": "t_shirt",
        "color": "white",
        "pattern": {"type": "solid", "color": "red"},
    }
    return DesignParams.model_validate({**fields, **overrides})


def measured(**overrides: Any) -> Analysis:
    """What a modest red square in a 12 x 16 in print area measures, changed by `overrides`."""
    fields: dict[str, Any] = {
        "inks": (InkArea(RED, 100.0),),
        "colour_count": 1,
        "inked_sq_in": 100.0,
        "ink_bounds": Rect(1.0, 1.0, 10.0, 10.0),
        "print_area": Rect(0.0, 0.0, 12.0, 16.0),
        "pixel_in": 0.04,
    }
    return Analysis(**{**fields, **overrides})


# The rules, one table: params and measures in, verdict out.


@pytest.mark.parametrize(
    ("params", "analysis", "feasible", "ready", "says"),
    [
        pytest.param({}, {}, True, True, "", id="plain DTG"),
        pytest.param(
            {"print_process": "screen"}, {"colour_count": 6}, True, True, "", id="6 screens"
        ),
        pytest.param(
            {"print_process": "screen"},
            {"colour_count": 7},
            False,
            False,
            "at most 6 screens; this design needs 7 (7 inks)",
            id="7 screens",
        ),
        pytest.param(
            {"print_process": "screen", "color": "black"},
            {"colour_count": 6},
            False,
            False,
            "needs 7 (6 inks and a white underbase)",
            id="6 inks and an underbase on black",
        ),
        pytest.param(
            {"print_process": "screen", "color": "black"},
            {"colour_count": 5},
            True,
            True,
            "",
            id="5 inks and an underbase",
        ),
        pytest.param(
            {"print_process": "dtg"}, {"colour_count": 16}, True, True, "", id="DTG: any colours"
        ),
        pytest.param(
            {},
            {"ink_bounds": Rect(-0.03, 1.0, 12.05, 10.0)},
            True,
            True,
            "",
            id="within a measuring pixel of the edge",
        ),
        pytest.param(
            {},
            {"ink_bounds": Rect(2.0, 1.0, 10.5, 10.0)},
            False,
            False,
            "0.5 in past the right edge",
            id="ink past the right edge",
        ),
        pytest.param(
            {},
            {"ink_bounds": Rect(1.0, -2.0, 10.0, 20.0)},
            False,
            False,
            "2.0 in past the top edge, 2.0 in past the bottom edge",
            id="ink past top and bottom",
        ),
        pytest.param({}, {"effective_dpi": 150.0}, True, True, "", id="150 dpi"),
        pytest.param(
            {},
            {"effective_dpi": 149.0},
            True,
            False,
            "resolution is too low: 149 dpi",
            id="149 dpi",
        ),
        pytest.param({}, {"effective_dpi": 72.0}, True, False, "150 needed", id="72 dpi"),
        pytest.param(
            {},
            {"effective_dpi": 71.0},
            False,
            False,
            "71 dpi at this size, 72 needed",
            id="71 dpi",
        ),
        pytest.param(
            {"print_process": "embroidery"},
            {"colour_count": 12},
            True,
            True,
            "",
            id="12 threads",
        ),
        pytest.param(
            {"print_process": "embroidery"},
            {"colour_count": 13},
            False,
            False,
            "at most 12 thread colours",
            id="13 threads",
        ),
        pytest.param(
            {"print_process": "embroidery"},
            {"ink_bounds": Rect(1.0, 1.0, 10.5, 4.0)},
            False,
            False,
            "fits a 10 × 10 in hoop; this design is 10.5 × 4.0 in",
            id="wider than the hoop",
        ),
        pytest.param(
            {"color": "white"},
            {"inks": (InkArea(WHITE, 80.0), InkArea(RED, 20.0))},
            True,
            False,
            "ink #ffffff is too close to the fabric colour #ffffff",
            id="white on white",
        ),
        pytest.param(
            {"color": "white"},
            {"inks": (InkArea(RED, 80.0), InkArea(WHITE, 20.0))},
            True,
            True,
            "",
            id="a little white on white is a detail",
        ),
        pytest.param(
            {"color": "black"},
            {"text_ink": (30, 30, 34)},
            True,
            False,
            "too close",
            id="black text on black",
        ),
        pytest.param(
            {"print_process": "embroidery"},
            {"text_height_in": 0.2},
            True,
            False,
            "the text is 0.20 in high; embroidery needs 0.25 in",
            id="embroidered text too small",
        ),
        pytest.param(
            {"print_process": "dtg"},
            {"text_height_in": 0.1},
            True,
            True,
            "",
            id="small printed text",
        ),
        pytest.param(
            {},
            {"missing_glyphs": ("😀",)},
            True,
            False,
            "no glyph for 😀",
            id="a character the font lacks",
        ),
    ],
)
def test_rules(
    params: dict[str, Any], analysis: dict[str, Any], feasible: bool, ready: bool, says: str
) -> None:
    verdict = check(design(**params), measured(**analysis))

    assert (verdict.feasible, verdict.production_ready) == (feasible, ready)
    said = verdict.reasons if not feasible else verdict.warnings
    assert (says in " | ".join(said)) if says else not said


def test_warnings_never_block_and_reasons_always_do() -> None:
    verdict = check(
        design(print_process="screen", color="white"),
        measured(colour_count=8, effective_dpi=100.0, inks=(InkArea(WHITE, 1.0),), inked_sq_in=1.0),
    )

    assert not verdict.feasible
    assert [r[:16] for r in verdict.reasons] == ["screen printing "]
    assert len(verdict.warnings) == 2


@pytest.mark.parametrize(
    ("lab1", "lab2", "expected"),
    [  # Sharma, Wu and Dalal (2005), the CIEDE2000 test data
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0),
        ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
        ((90.8027, -2.0831, 1.441), (91.1528, -1.6435, 0.0447), 1.4441),
        ((2.0776, 0.0795, -1.135), (0.9033, -0.0636, -0.5514), 0.9082),
    ],
)
def test_colour_difference_is_ciede2000(
    lab1: tuple[float, ...], lab2: tuple[float, ...], expected: float
) -> None:
    assert float(delta_e2000(lab1, lab2)) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("ink", "fabric", "shows"),
    [
        (WHITE, BLACK, True),
        ((31, 42, 68), BLACK, False),
        ((224, 224, 224), WHITE, False),
        (RED, WHITE, True),
    ],
)
def test_which_inks_show_on_which_fabrics(
    ink: tuple[int, int, int], fabric: tuple[int, int, int], shows: bool
) -> None:
    assert (colour_difference(ink, fabric) >= 15) is shows


# Whole requests, assessed as the API assesses them


INFEASIBLE: dict[str, dict[str, Any]] = {
    "rainbow screened on black": {
        "product_type": "hoodie",
        "color": "black",
        "print_process": "screen",
        "pattern": {"type": "ai_generate", "prompt": "rainbow"},
    },
    "eight stripes' worth of inks screened": {
        "print_process": "screen",
        "color": "navy_blue",
        "pattern": {
            "type": "stripes",
            "colors": ["red", "yellow", "white", "pink", "orange", "teal"],
        },
        "text": {"content": "SIX PLUS ONE", "color": "sky_blue"},
    },
    "scaled past the print area": {"scale": 1.4},
    "moved off the print area": {
        "offset_x_in": 5.0,
        "pattern": {"type": "ai_generate", "prompt": "海浪"},
    },
    "embroidered across the chest": {
        "print_process": "embroidery",
        "pattern": {"type": "ai_generate", "prompt": "科技感线条"},
    },
    "screened, moved and too light": {
        "print_process": "screen",
        "scale": 1.2,
        "color": "white",
        "pattern": {"type": "ai_generate", "prompt": "rainbow flowers"},
        "text": {"content": "白", "color": "white"},
    },
}


@pytest.mark.parametrize("name", list(INFEASIBLE))
def test_infeasible_requests_are_found_so(name: str) -> None:
    assert not assess(design(**INFEASIBLE[name])).feasible


@pytest.mark.parametrize("name", list(INFEASIBLE))
def test_every_alternative_to_an_infeasible_request_is_feasible(name: str) -> None:
    params = design(**INFEASIBLE[name])

    found = alternatives(params)

    assert found, "an infeasible request should have at least one feasible alternative"
    for alternative in found:
        assert alternative != params
        assert assess(alternative).feasible, alternative
    assert assess(found[0]).production_ready


@pytest.mark.parametrize(
    ("overrides", "fixed"),
    [
        ({"color": "white", "pattern": {"type": "solid", "color": "white"}}, "pattern"),
        ({"color": "navy_blue", "text": {"content": "NAVY", "color": "#1f2a45"}}, "text"),
    ],
)
def test_an_ink_lost_in_the_fabric_gets_a_contrasting_alternative(
    overrides: dict[str, Any], fixed: str
) -> None:
    params = design(**overrides)
    assert assess(params).feasible and not assess(params).production_ready

    [alternative] = alternatives(params)

    assert assess(alternative).production_ready
    assert getattr(alternative, fixed) != getattr(params, fixed)


def test_a_production_ready_request_has_no_alternatives() -> None:
    assert alternatives(design()) == []


def test_fewer_colours_is_offered_through_max_colors() -> None:
    params = design(**INFEASIBLE["rainbow screened on black"])

    found = alternatives(params)

    assert any(a.max_colors == 5 and a.print_process == "screen" for a in found)
    assert any(a.print_process == "dtg" for a in found)


def write_image(path: Path, width: int, height: int) -> Path:
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], -1)
    Image.fromarray(rgb.astype(np.uint8), "RGB").save(path)
    return path


@pytest.mark.parametrize(
    ("width", "feasible", "ready"),
    [(1800, True, True), (1200, True, False), (600, False, False)],
    ids=["150 dpi", "100 dpi", "50 dpi"],
)
def test_an_image_is_judged_by_its_pixels_per_printed_inch(
    width: int, feasible: bool, ready: bool, tmp_path: Path
) -> None:
    source = write_image(tmp_path / "art.png", width, width * 4 // 3)  # fills the 12 x 16 in area
    params = design(pattern={"type": "image", "file_id": "f1"})

    verdict = assess(params, source)

    assert (verdict.feasible, verdict.production_ready) == (feasible, ready)
    if not ready:
        assert "resolution is too low" in " ".join(verdict.reasons + verdict.warnings)


def test_a_low_resolution_image_is_offered_smaller(tmp_path: Path) -> None:
    source = write_image(tmp_path / "art.png", 600, 800)
    params = design(pattern={"type": "image", "file_id": "f1"})

    found = alternatives(params, Image.open(source))

    assert found[0].scale == pytest.approx(0.33)
    assert all(assess(a, source).feasible for a in found)


@pytest.mark.parametrize("width", [1800, 1200, 600], ids=["150 dpi", "100 dpi", "50 dpi"])
def test_an_image_known_by_its_facts_gets_its_pixels_verdict_on_resolution(
    width: int, tmp_path: Path
) -> None:
    source = write_image(tmp_path / "art.png", width, width * 4 // 3)
    params = design(pattern={"type": "image", "file_id": "f1"})

    assert assess(params, ImageFacts(width, width * 4 // 3)) == assess(params, source)


def test_a_low_resolution_image_known_by_its_facts_is_offered_smaller() -> None:
    params = design(pattern={"type": "image", "file_id": "f1"})

    found = alternatives(params, ImageFacts(600, 800))

    assert found[0].scale == pytest.approx(0.33)
    assert all(assess(a, ImageFacts(600, 800)).feasible for a in found)


def test_an_image_known_by_its_facts_is_kept_inside_the_print_area() -> None:
    params = design(pattern={"type": "image", "file_id": "f1"}, offset_x_in=5.0)

    verdict = assess(params, ImageFacts(6000, 8000))

    assert not verdict.feasible
    assert "beyond the print area" in " ".join(verdict.reasons)
    assert alternatives(params, ImageFacts(6000, 8000))[0].offset_x_in == 0.0


def test_analysis_is_plain_frozen_data() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        measured().colour_count = 3  # type: ignore[misc]
