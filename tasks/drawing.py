"""2D drawings (DXF, SVG) → one standalone SVG, with what the drawing measures.

Coordinates: the SVG's `viewBox` is the drawing's extents in drawing units
(min x, min y, width, height). A DXF's y axis points up and SVG's points down, so
every DXF point is written mirrored about the extents' middle line,
(x, y) → (x, min_y + max_y − y): x is kept, and the drawing's top edge (max y)
lands on the top edge of the viewBox. An SVG input is already y-down (trimesh
keeps its coordinates) and is written unmirrored. A zero-width or zero-height
drawing (one straight line, one point) gets a viewBox padded around its middle so
that it still renders.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import trimesh
from lxml import etree
from numpy.typing import NDArray
from trimesh.path import Path2D
from trimesh.path.entities import Entity, Text

from tasks.errors import InputTooLarge, InvalidInput
from tasks.formats import CadFormat

MAX_ENTITIES = 2_000_000
SVG_NS = "http://www.w3.org/2000/svg"
INKSCAPE_NS = "http://www.inkscape.org/namespaces/inkscape"
# Lines a 500th of the drawing's longer side wide: visible at any zoom that shows it whole.
STROKE_PER_EXTENT = 1 / 500
# A drawing without physical units is sized in px, its longer side this long.
LONG_SIDE_PX = 1024
# A zero extent becomes this fraction of the other one (or 1 unit if both are zero).
DEGENERATE_PAD = 1 / 100
# trimesh's unit names → a CSS length unit and how many of it make one drawing unit.
CSS_LENGTH = {
    "millimeters": ("mm", 1.0),
    "centimeters": ("cm", 1.0),
    "meters": ("cm", 100.0),
    "microns": ("mm", 0.001),
    "inches": ("in", 1.0),
    "feet": ("in", 12.0),
    "mils": ("in", 0.001),
}
TEXT_ANCHOR = {"left": "start", "center": "middle", "right": "end"}
TEXT_BASELINE = {"bottom": "auto", "baseline": "auto", "center": "central", "top": "hanging"}
NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class ViewBox:
    """The SVG's view in drawing units; `svg_y` maps a drawing's y into it."""

    min_x: float
    min_y: float
    width: float
    height: float
    y_up: bool = True

    def svg_y(self, y: NDArray[np.float64]) -> NDArray[np.float64]:
        return (2 * self.min_y + self.height) - y if self.y_up else y

    def attribute(self) -> str:
        return " ".join(_num(v) for v in (self.min_x, self.min_y, self.width, self.height))


def load_drawing(source: Path, fmt: CadFormat) -> Path2D:
    """The drawing as a trimesh Path2D; `InvalidInput` or `InputTooLarge` with the reason."""
    try:
        loaded = trimesh.load_path(source, file_type=fmt.value)
    except Exception as exc:
        raise InvalidInput(f"the {fmt} file could not be read: {exception_reason(exc)}") from None
    if not isinstance(loaded, Path2D):
        raise InvalidInput(f"the {fmt} file holds no flat 2D drawing")
    check_entity_count(len(loaded.entities), fmt)
    if len(loaded.vertices) == 0:
        raise InvalidInput(f"the {fmt} file holds no points")
    if not np.isfinite(loaded.vertices).all():
        raise InvalidInput(f"the {fmt} file has coordinates that are not finite numbers")
    return loaded


def check_entity_count(count: int, fmt: CadFormat) -> None:
    """Refuse a drawing with no entities, or more than `MAX_ENTITIES`."""
    if count == 0:
        raise InvalidInput(f"the {fmt} file holds no drawing entities")
    if count > MAX_ENTITIES:
        raise InputTooLarge(
            f"the {fmt} file has {count} entities; this farm takes at most {MAX_ENTITIES}"
        )


def describe_drawing(drawing: Path2D, fmt: CadFormat) -> dict[str, Any]:
    """What the drawing measures, in its own units; `closed_area` is None without closed regions."""
    closed = sum(1 for polygon in drawing.polygons_closed if polygon is not None)
    return {
        "source_format": fmt.value,
        "units": drawing.units,
        "bounding_box": {"min": drawing.bounds[0].tolist(), "max": drawing.bounds[1].tolist()},
        "entity_count": len(drawing.entities),
        "layers": [name for name in group_by_layer(drawing.entities) if name is not None],
        "total_length": float(drawing.length),
        "closed_regions": closed,
        "closed_area": float(drawing.area) if closed else None,
    }


def group_by_layer(entities: Sequence[Entity]) -> dict[str | None, list[int]]:
    """Entity indices by layer name, layers in order of first use; None for no layer."""
    groups: dict[str | None, list[int]] = {}
    for index, entity in enumerate(entities):
        layer = entity.layer
        groups.setdefault(None if layer is None else str(layer), []).append(index)
    return groups


def view_box(bounds: np.ndarray, y_up: bool = True) -> ViewBox:
    """The drawing's extents as a viewBox, a zero width or height padded around its middle."""
    (min_x, min_y), (max_x, max_y) = bounds.tolist()
    width, height = max_x - min_x, max_y - min_y
    fallback = max(width, height) * DEGENERATE_PAD or 1.0
    if width <= 0:
        min_x, width = min_x - fallback / 2, fallback
    if height <= 0:
        min_y, height = min_y - fallback / 2, fallback
    return ViewBox(min_x, min_y, width, height, y_up)


def svg_size(width: float, height: float, units: str | None) -> tuple[str, str]:
    """The SVG's width and height: physical lengths if the units are known, else px."""
    if units in CSS_LENGTH:
        unit, factor = CSS_LENGTH[units]
        return f"{_num(width * factor)}{unit}", f"{_num(height * factor)}{unit}"
    scale = LONG_SIDE_PX / max(width, height)
    return _num(width * scale), _num(height * scale)


def xml_text(value: object) -> str:
    """`value` as text XML can hold: characters XML 1.0 forbids are dropped."""
    return NOT_XML_CHAR.sub("", str(value))


def drawing_svg(drawing: Path2D, metadata: dict[str, Any], y_up: bool = True) -> bytes:
    """The drawing as a standalone SVG document: one `<g>` layer per drawing layer.

    `y_up` for drawings whose y axis points up (DXF), mirrored so they read upright.
    """
    box = view_box(drawing.bounds, y_up)
    width, height = svg_size(box.width, box.height, drawing.units)
    root = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS, "inkscape": INKSCAPE_NS})
    root.attrib.update({"version": "1.1", "viewBox": box.attribute()})
    root.attrib.update({"width": width, "height": height})
    # ensure_ascii: the JSON is then plain ASCII, which XML always holds.
    _child(root, "metadata", id="jobfarm-drawing").text = json.dumps(metadata, ensure_ascii=True)
    stroke = _num(max(box.width, box.height) * STROKE_PER_EXTENT)
    for number, (layer, indices) in enumerate(group_by_layer(drawing.entities).items(), 1):
        group = _layer_group(root, number, layer, stroke)
        for index in indices:
            _entity_element(group, drawing.entities[index], drawing.vertices, box)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def _layer_group(root: etree._Element, number: int, layer: str | None, stroke: str) -> Any:
    group = _child(root, "g", id=f"layer-{number}")
    group.set(f"{{{INKSCAPE_NS}}}groupmode", "layer")
    group.set(f"{{{INKSCAPE_NS}}}label", xml_text(layer) if layer is not None else "(no layer)")
    if layer is not None:
        group.set("data-layer", xml_text(layer))
    group.attrib.update({"fill": "none", "stroke": "#000", "stroke-width": stroke})
    group.attrib.update({"stroke-linecap": "round", "stroke-linejoin": "round"})
    return group


def _entity_element(group: Any, entity: Entity, vertices: np.ndarray, box: ViewBox) -> None:
    if isinstance(entity, Text):
        _text_element(group, entity, vertices, box)
        return
    discrete = getattr(entity, "discrete", None)
    points = np.asarray(discrete(vertices) if discrete else [], dtype=np.float64)
    if len(points) == 0:
        return
    _child(group, "path", d=path_data(points[:, 0], box.svg_y(points[:, 1])))


def path_data(xs: np.ndarray, ys: np.ndarray) -> str:
    """An SVG path's `d` through the points, as one polyline."""
    pairs = [f"{_num(x)},{_num(y)}" for x, y in zip(xs.tolist(), ys.tolist(), strict=True)]
    return "M" + " L".join(pairs)


def _text_element(group: Any, text: Text, vertices: np.ndarray, box: ViewBox) -> None:
    x, y = vertices[text.origin].tolist()
    y = float(box.svg_y(np.array([y]))[0])
    # In y-down SVG a positive rotate() turns clockwise; a y-up angle turns the other way.
    degrees = math.degrees(text.angle(vertices)) * (-1 if box.y_up else 1)
    horizontal, vertical = [*text.align, "left", "bottom"][:2]
    element = _child(group, "text", x=_num(x), y=_num(y))
    element.attrib.update({"fill": "#000", "stroke": "none"})
    element.set("font-size", _num(text.height or max(box.width, box.height) / 50))
    element.set("text-anchor", TEXT_ANCHOR.get(str(horizontal), "start"))
    element.set("dominant-baseline", TEXT_BASELINE.get(str(vertical), "auto"))
    if degrees:
        element.set("transform", f"rotate({_num(degrees)} {_num(x)} {_num(y)})")
    element.text = xml_text(text.text)


def _child(parent: Any, tag: str, **attributes: str) -> Any:
    return etree.SubElement(parent, f"{{{SVG_NS}}}{tag}", attributes)


def _num(value: float) -> str:
    return f"{value:.10g}"


def exception_reason(exc: Exception) -> str:
    """The first line of an exception's message, short enough to show a user."""
    return str(exc).strip().split("\n")[0][:200] or type(exc).__name__
