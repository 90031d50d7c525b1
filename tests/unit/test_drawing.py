"""2D drawings to SVG (e2dx), on the real fixtures and on drawings made here."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh
from lxml import etree

from tasks.convert import ConvertParams, run_convert
from tasks.drawing import (
    INKSCAPE_NS,
    MAX_ENTITIES,
    SVG_NS,
    ViewBox,
    check_entity_count,
    svg_size,
    view_box,
    xml_text,
)
from tasks.errors import InputTooLarge, InvalidInput, UnsupportedFormat
from tasks.formats import CadFormat
from tasks.types import JobContext, JobOutcome

FIXTURES = Path(__file__).parents[1] / "fixtures" / "cad"
# Every 2D fixture, with the DXF layers its entities are on.
DRAWINGS = {
    "2d/cycloidal.dxf": ["0"],
    "2d/polygon.svg": [],
    "2d/spline.DXF": ["0"],
    "2d/text.dxf": [],
    "2d/wrench.dxf": ["SKETCHGEOMETRY(ANSI)"],
}
NS = {"svg": SVG_NS}
SVG_OPEN = b'<svg xmlns="http://www.w3.org/2000/svg">'
LABEL = f"{{{INKSCAPE_NS}}}label"


def convert(source: Path, tmp_path: Path, target: str = "e2dx") -> JobOutcome:
    params = ConvertParams.model_validate({"target_format": target})
    return run_convert(JobContext(params=params, workdir=tmp_path, inputs=(source,)))


def reference(source: Path) -> trimesh.path.Path2D:
    """The drawing as trimesh itself loads it."""
    loaded = trimesh.load_path(source, file_type=source.suffix.lstrip(".").lower())
    assert isinstance(loaded, trimesh.path.Path2D)
    return loaded


def dxf(*entities: str) -> bytes:
    """A minimal DXF holding only these ENTITIES groups."""
    return f"0\nSECTION\n2\nENTITIES\n{''.join(entities)}0\nENDSEC\n0\nEOF\n".encode()


def line(layer: str, x1: float, y1: float, x2: float, y2: float) -> str:
    return f"0\nLINE\n8\n{layer}\n10\n{x1}\n20\n{y1}\n11\n{x2}\n21\n{y2}\n"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def layer_groups(svg: etree._Element) -> dict[str, etree._Element]:
    groups = svg.findall("svg:g", NS)
    assert all(g.get(f"{{{INKSCAPE_NS}}}groupmode") == "layer" for g in groups)
    return {g.get("data-layer"): g for g in groups if g.get("data-layer") is not None}


def points_of(path_d: str) -> np.ndarray:
    return np.array([pair.split(",") for pair in path_d.lstrip("M").split(" L")], dtype=float)


def test_the_fixture_list_is_complete() -> None:
    found = {str(p.relative_to(FIXTURES)) for p in (FIXTURES / "2d").glob("*.*")}
    assert found == set(DRAWINGS)


@pytest.mark.parametrize("name", sorted(DRAWINGS))
def test_every_2d_fixture_converts_to_an_svg_framed_on_its_extents(
    name: str, tmp_path: Path
) -> None:
    source = FIXTURES / name
    drawing = reference(source)

    [svg_file] = convert(source, tmp_path).outputs

    assert svg_file.name == f"{source.stem}.svg"
    ET.parse(svg_file)  # the standard library parses it too
    svg = etree.parse(str(svg_file)).getroot()
    assert svg.tag == f"{{{SVG_NS}}}svg"
    view = [float(v) for v in svg.get("viewBox").split()]
    (min_x, min_y), (max_x, max_y) = drawing.bounds
    assert view == pytest.approx([min_x, min_y, max_x - min_x, max_y - min_y], rel=1e-8)
    assert float(svg.get("width").rstrip("incmpx")) > 0
    assert float(svg.get("height").rstrip("incmpx")) > 0


@pytest.mark.parametrize("name", sorted(DRAWINGS))
def test_every_2d_fixture_keeps_its_layers_and_entities(name: str, tmp_path: Path) -> None:
    source = FIXTURES / name

    [svg_file] = convert(source, tmp_path).outputs

    svg = etree.parse(str(svg_file)).getroot()
    groups = layer_groups(svg)
    assert list(groups) == DRAWINGS[name]
    assert all(groups[layer].get(LABEL) == layer for layer in groups)
    drawn = svg.findall("svg:g/svg:path", NS) + svg.findall("svg:g/svg:text", NS)
    assert len(drawn) == len(reference(source).entities)


@pytest.mark.parametrize("name", sorted(DRAWINGS))
def test_every_2d_fixture_reports_what_it_measures(name: str, tmp_path: Path) -> None:
    source = FIXTURES / name
    drawing = reference(source)

    outcome = convert(source, tmp_path)

    result = outcome.result
    assert result["source_format"] == source.suffix.lstrip(".").lower()
    assert result["units"] == drawing.units
    assert result["bounding_box"]["min"] == pytest.approx(drawing.bounds[0].tolist())
    assert result["bounding_box"]["max"] == pytest.approx(drawing.bounds[1].tolist())
    assert result["entity_count"] == len(drawing.entities) > 0
    assert result["layers"] == DRAWINGS[name]
    assert result["total_length"] == pytest.approx(drawing.length)
    if result["closed_regions"]:
        assert result["closed_area"] == pytest.approx(drawing.area) and drawing.area > 0
    else:
        assert result["closed_area"] is None
    svg = etree.parse(str(outcome.outputs[0])).getroot()
    assert json.loads(svg.find("svg:metadata", NS).text) == result


@pytest.mark.parametrize(
    ("name", "length", "area"),
    [
        ("2d/cycloidal.dxf", 14.1203, 11.1218),
        ("2d/polygon.svg", 827.322, 11398.38),
        ("2d/text.dxf", 0.0, None),
    ],
)
def test_curve_length_and_closed_area_are_measured(
    name: str, length: float, area: float | None, tmp_path: Path
) -> None:
    result = convert(FIXTURES / name, tmp_path).result

    assert result["total_length"] == pytest.approx(length, rel=1e-4)
    assert result["closed_area"] == (None if area is None else pytest.approx(area, rel=1e-4))


def test_a_dxf_is_mirrored_so_that_its_top_stays_on_top(tmp_path: Path) -> None:
    source = write(tmp_path, "rise.dxf", dxf(line("0", 0, 0, 10, 5)))

    [svg_file] = convert(source, tmp_path).outputs

    svg = etree.parse(str(svg_file)).getroot()
    assert svg.get("viewBox") == "0 0 10 5"
    start, end = points_of(svg.find("svg:g/svg:path", NS).get("d"))
    assert start.tolist() == [0, 5]  # drawing (0, 0), bottom left: SVG's bottom is y=5
    assert end.tolist() == [10, 0]  # drawing (10, 5), top right


def test_an_svg_keeps_its_own_downward_y(tmp_path: Path) -> None:
    drawn = SVG_OPEN + b'<path d="M0 0 L10 5"/></svg>'
    source = write(tmp_path, "down.svg", drawn)

    [svg_file] = convert(source, tmp_path).outputs

    path = etree.parse(str(svg_file)).getroot().find("svg:g/svg:path", NS)
    assert points_of(path.get("d")).tolist() == [[0, 0], [10, 5]]


def test_each_dxf_layer_becomes_a_group_of_its_entities(tmp_path: Path) -> None:
    # Written as trimesh reads DXF layer names back: upper case, spaces dropped.
    hostile = 'WALLS<&>"DOORS"'
    source = write(
        tmp_path,
        "plan.dxf",
        dxf(line("0", 0, 0, 1, 0), line(hostile, 0, 0, 0, 1), line(hostile, 1, 1, 0, 1)),
    )

    outcome = convert(source, tmp_path)

    svg = etree.parse(str(outcome.outputs[0])).getroot()
    groups = layer_groups(svg)
    assert list(groups) == ["0", hostile]
    assert groups[hostile].get(LABEL) == hostile
    assert len(groups["0"].findall("svg:path", NS)) == 1
    assert len(groups[hostile].findall("svg:path", NS)) == 2
    assert outcome.result["layers"] == ["0", hostile]


def test_characters_xml_cannot_hold_are_dropped_from_layer_names(tmp_path: Path) -> None:
    source = write(tmp_path, "ctl.dxf", dxf(line("BAD\x01NAME\x1f", 0, 0, 1, 1)))

    [svg_file] = convert(source, tmp_path).outputs

    assert list(layer_groups(etree.parse(str(svg_file)).getroot())) == ["BADNAME"]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.dxf", dxf(), "no drawing entities"),
        ("empty.svg", SVG_OPEN + b"</svg>", "no drawing entities"),
        ("broken.dxf", dxf("0\nLINE\n8\n0\n10\nabc\n"), "could not be read"),
        ("broken.svg", SVG_OPEN + b'<path d="M0 0', "could not"),
        ("nan.dxf", dxf("0\nLINE\n8\n0\n10\nnan\n20\n0\n11\n1\n21\n1\n"), "could not be read"),
        ("inf.svg", SVG_OPEN + b'<path d="M0 0 L1e999 5"/></svg>', "could"),
    ],
)
def test_a_bad_drawing_fails_with_a_readable_reason(
    name: str, data: bytes, reason: str, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match=reason):
        convert(write(tmp_path, name, data), tmp_path)


def test_a_truncated_fixture_dxf_fails_readably_or_converts(tmp_path: Path) -> None:
    whole = (FIXTURES / "2d/wrench.dxf").read_bytes()
    for cut in (200, len(whole) // 3, len(whole) - 10):
        source = write(tmp_path, f"cut{cut}.dxf", whole[:cut])
        try:
            [svg_file] = convert(source, tmp_path).outputs
        except (InvalidInput, UnsupportedFormat):
            continue
        etree.parse(str(svg_file))


@pytest.mark.parametrize(
    "name", ["20mm-xyz-cube.stl", "featuretype.STEP", "fuze.obj", "base_interface_AP203.igs"]
)
def test_a_3d_model_is_not_supported_as_e2dx(name: str, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormat, match=r"3D model .* cannot be converted to e2dx"):
        convert(FIXTURES / name, tmp_path)


@pytest.mark.parametrize(
    ("count", "error"),
    [
        (0, InvalidInput),
        (1, None),
        (MAX_ENTITIES, None),
        (MAX_ENTITIES + 1, InputTooLarge),
    ],
)
def test_the_entity_count_is_bounded(count: int, error: type[Exception] | None) -> None:
    if error is None:
        check_entity_count(count, CadFormat.DXF)
    else:
        with pytest.raises(error):
            check_entity_count(count, CadFormat.DXF)


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        ([[1, 2], [4, 8]], (1, 2, 3, 6)),
        ([[0, 5], [100, 5]], (0, 4.5, 100, 1)),  # a horizontal line: height 1% of the width
        ([[3, 0], [3, 10]], (2.95, 0, 0.1, 10)),
        ([[2, 2], [2, 2]], (1.5, 1.5, 1, 1)),  # one point
    ],
)
def test_the_view_box_is_the_extents_padded_only_where_flat(
    bounds: list[list[float]], expected: tuple[float, ...]
) -> None:
    box = view_box(np.array(bounds, dtype=float))

    assert (box.min_x, box.min_y, box.width, box.height) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("y_up", "y", "expected"),
    [
        (True, 2, 8),  # the bottom edge of a y-up drawing goes to SVG's bottom
        (True, 8, 2),
        (True, 5, 5),
        (False, 2, 2),
    ],
)
def test_only_y_up_drawings_are_mirrored(y_up: bool, y: float, expected: float) -> None:
    box = ViewBox(min_x=0, min_y=2, width=4, height=6, y_up=y_up)

    assert box.svg_y(np.array([y], dtype=float)).tolist() == [expected]


@pytest.mark.parametrize(
    ("units", "expected"),
    [
        ("millimeters", ("200mm", "100mm")),
        ("inches", ("200in", "100in")),
        ("meters", ("20000cm", "10000cm")),
        ("feet", ("2400in", "1200in")),
        (None, ("1024", "512")),  # no physical unit: px, the longer side 1024
        ("lightyears", ("1024", "512")),
    ],
)
def test_the_svg_size_follows_the_drawing_units(
    units: str | None, expected: tuple[str, str]
) -> None:
    assert svg_size(200, 100, units) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        ("<&>\"'", "<&>\"'"),  # escaping is the serializer's job; these are legal characters
        ("a\x00b\x07c\x1fd", "abcd"),
        ("tab\tnew\nline", "tab\tnew\nline"),
        ("żółw ✓", "żółw ✓"),
        ("\ufffe\uffff", ""),
    ],
)
def test_xml_text_drops_only_what_xml_cannot_hold(value: Any, expected: str) -> None:
    assert xml_text(value) == expected
