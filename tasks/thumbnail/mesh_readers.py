"""Fast readers for the plainest ASCII PLY and OFF files, the layouts most such files
use: a thumbnail needs only their triangles, which these read several times faster
than trimesh's line-by-line readers.

A reader answers only for a file whose every byte it understands and whose triangles
are clean (finite vertices, face indices in range, something to draw); for anything
else it returns None, and the caller loads the file through trimesh, whose result and
checks then decide. So a file is never accepted here that trimesh's path would refuse,
and what is accepted holds the very triangles trimesh would give.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tasks.formats import CadFormat

NEWLINE, SPACE = 10, 32
# What the body of a file read here may hold: decimal numbers and the blanks between
# them. No "nan" or "inf", no comments, no line breaks other than "\n" and "\r\n".
NUMBER_BYTES = b"0123456789+-.eE \t\r\n"
# PLY scalar types (the specification's names and those found in the wild), as numpy types.
PLY_SCALARS = {
    "char": "i1",
    "uchar": "u1",
    "short": "i2",
    "ushort": "u2",
    "int": "i4",
    "uint": "u4",
    "int8": "i1",
    "uint8": "u1",
    "int16": "i2",
    "uint16": "u2",
    "int32": "i4",
    "uint32": "u4",
    "int64": "i8",
    "uint64": "u8",
    "float": "f4",
    "float16": "f2",
    "float32": "f4",
    "float64": "f8",
    "double": "f8",
}
COORDINATE_TYPES = frozenset({"float", "float32", "double", "float64"})
# Vertex properties trimesh turns into colours or texture coordinates, which thumbnails
# draw: a PLY holding any of them is left to trimesh.
VISUAL_PROPERTIES = frozenset(
    {"red", "green", "blue", "alpha", "texture_u", "texture_v", "u", "v", "s", "t"}
)
TRIANGLE_LISTS = frozenset(
    ("list", count, index, name)
    for count in ("uchar", "uint8")
    for index in ("int", "uint", "int32", "uint32")
    for name in ("vertex_indices", "vertex_index")
)


@dataclass(frozen=True)
class IndexedMesh:
    """`vertices` (n, 3), finite; `faces` (m, 3), indices into `vertices`; n, m ≥ 1."""

    vertices: npt.NDArray[np.float64]
    faces: npt.NDArray[np.int64]


@dataclass(frozen=True)
class PlyLayout:
    """An ASCII PLY of a vertex element (scalar properties `columns`, each (name, numpy
    type)) then a face element of one triangle list each."""

    vertex_count: int
    face_count: int
    columns: tuple[tuple[str, str], ...]


def read_simple_mesh(source: Path, fmt: CadFormat) -> IndexedMesh | None:
    """The file's triangles if it is a PLY or an OFF of the plain layout, else None; a
    file of another format is not opened."""
    reader = READERS.get(fmt)
    return reader(source.read_bytes()) if reader else None


def read_simple_ply(data: bytes) -> IndexedMesh | None:
    """An ASCII PLY's triangles, if its header is `_ply_layout`'s and each vertex and face
    is one line of numbers; else None."""
    end = data.find(b"\nend_header")
    layout = _ply_layout(data[: end + 1]) if end >= 0 else None
    if layout is None:
        return None
    body = _after_line(data[end + len(b"\nend_header") :])
    if body is None:
        return None
    rows = [(layout.vertex_count, len(layout.columns)), (layout.face_count, 4)]
    # trimesh reads a blank line as a row, so any blank line before the end is declined.
    if not _lines_hold(body, rows, skip_blank=False):
        return None
    return _ply_mesh(body.split(), layout)


def _ply_layout(header: bytes) -> PlyLayout | None:
    """The layout of a PLY header (up to "end_header") if it is the plain one: ASCII, a
    vertex element of scalar properties with float x, y and z among them and no colours
    or texture coordinates, then a face element of a triangle list alone; else None.
    Comment and obj_info lines may come anywhere after the format line."""
    lines = _header_lines(header)
    if lines is None or lines[:2] != [["ply"], ["format", "ascii", "1.0"]]:
        return None
    body = [line for line in lines[2:] if line[0] not in ("comment", "obj_info")]
    if len(body) < 4 or body[0][:2] != ["element", "vertex"]:
        return None
    face = next((i for i in range(1, len(body)) if body[i][0] == "element"), 0)
    if face == 0 or body[face][:2] != ["element", "face"] or len(body) != face + 2:
        return None
    if body[face + 1][0] != "property" or tuple(body[face + 1][1:]) not in TRIANGLE_LISTS:
        return None
    columns = _vertex_columns(body[1:face])
    vertex_count, face_count = _count(body[0]), _count(body[face])
    if columns is None or not vertex_count or not face_count:
        return None
    return PlyLayout(vertex_count, face_count, columns)


def _after_line(rest: bytes) -> bytes | None:
    """What follows the line end that `rest` starts with; None if it starts otherwise."""
    for end in (b"\n", b"\r\n"):
        if rest.startswith(end):
            return rest[len(end) :]
    return None


def _header_lines(header: bytes) -> list[list[str]] | None:
    """The header's lines as words; None if it holds anything but printable ASCII and
    "\n" or "\r\n" line ends, or a blank line, or a texture, or "end_header" (which
    trimesh takes for the header's end wherever it stands)."""
    if not header.isascii() or header.count(b"\r") != header.count(b"\r\n"):
        return None
    text = header.decode("ascii").replace("\r\n", "\n")
    if not text.replace("\n", "").isprintable() or "end_header" in text:
        return None
    if "texturefile" in text.lower():
        return None
    lines = [line.split() for line in text.splitlines()]
    return lines if all(lines) else None


def _vertex_columns(properties: list[list[str]]) -> tuple[tuple[str, str], ...] | None:
    """Each vertex property's name and numpy type; None unless every one is a scalar of a
    known type, named once, x, y and z are floats, and none is a colour or texture."""
    if any(len(p) != 3 or p[0] != "property" or p[1] not in PLY_SCALARS for p in properties):
        return None
    types = {name: kind for _, kind, name in properties}
    if len(types) != len(properties) or VISUAL_PROPERTIES & types.keys():
        return None
    if any(types.get(axis) not in COORDINATE_TYPES for axis in "xyz"):
        return None
    return tuple((name, PLY_SCALARS[kind]) for _, kind, name in properties)


def _count(element: list[str]) -> int | None:
    return int(element[2]) if len(element) == 3 and element[2].isdigit() else None


def _ply_mesh(tokens: list[bytes], layout: PlyLayout) -> IndexedMesh | None:
    """The mesh from the body's numbers. Coordinates are rounded to their declared type,
    as trimesh reads them."""
    split = layout.vertex_count * len(layout.columns)
    table = _floats(tokens[:split])
    if table is None:
        return None
    table = table.reshape(layout.vertex_count, len(layout.columns))
    column = {name: (i, kind) for i, (name, kind) in enumerate(layout.columns)}
    # Beyond a float32's range a coordinate becomes infinite, and is refused with the rest.
    with np.errstate(over="ignore"):
        axes = [table[:, column[axis][0]].astype(column[axis][1]) for axis in "xyz"]
    return _triangle_mesh(np.column_stack(axes).astype(np.float64), tokens[split:])


def read_simple_off(data: bytes) -> IndexedMesh | None:
    """An OFF's triangles, if it opens with an "OFF" line, then "vertices faces edges",
    then one line of three coordinates per vertex and one "3 a b c" line per face, with
    nothing else but blank lines; else None."""
    body = _after_line(data[3:]) if data.startswith(b"OFF") else None
    if body is None:
        return None
    tokens = body.split()
    counts = _integers(tokens[:3])
    if counts is None or len(counts) != 3 or counts.min() < 0:
        return None
    vertex_count, face_count = int(counts[0]), int(counts[1])
    rows = [(1, 3), (vertex_count, 3), (face_count, 4)]
    if not _lines_hold(body, rows, skip_blank=True):
        return None
    vertices = _floats(tokens[3 : 3 + 3 * vertex_count])
    if vertices is None:
        return None
    return _triangle_mesh(vertices.reshape(-1, 3), tokens[3 + 3 * vertex_count :])


def _triangle_mesh(vertices: npt.NDArray[np.float64], tokens: list[bytes]) -> IndexedMesh | None:
    """The mesh of `vertices` and the face tokens ("3 a b c" each), or None unless there
    are both, the vertices are finite and every face a triangle of vertices that exist."""
    faces = _integers(tokens)
    if faces is None or len(vertices) == 0 or len(faces) == 0:
        return None
    faces = faces.reshape(-1, 4)
    corners = faces[:, 1:]
    if (faces[:, 0] != 3).any() or corners.min() < 0 or corners.max() >= len(vertices):
        return None
    if not np.isfinite(vertices).all():
        return None
    return IndexedMesh(vertices, np.ascontiguousarray(corners))


def _floats(tokens: list[bytes]) -> npt.NDArray[np.float64] | None:
    """The tokens as numbers by Python's `float`, or None if one is not a number."""
    try:
        return np.array(tokens, dtype=np.float64)
    except ValueError:
        return None


def _integers(tokens: list[bytes]) -> npt.NDArray[np.int64] | None:
    """The tokens as numbers by Python's `int`, or None if one is not a 64-bit integer."""
    try:
        return np.array(tokens, dtype=np.int64)
    except (ValueError, OverflowError):
        return None


def _lines_hold(body: bytes, rows: list[tuple[int, int]], skip_blank: bool) -> bool:
    """Whether `body` is only numbers and blanks, and its lines are, run after run of
    `rows` (lines, numbers on each), lines of that many numbers, then nothing (blank
    lines aside when `skip_blank`)."""
    if body.translate(None, NUMBER_BYTES) or body.count(b"\r") != body.count(b"\r\n"):
        return False
    if sum(lines for lines, _ in rows) > body.count(b"\n") + 1:
        return False  # and no counts in a header make it build a table larger than the file
    tokens = _tokens_per_line(np.frombuffer(body + b"\n", dtype=np.uint8))
    if skip_blank:
        tokens = tokens[tokens > 0]
    expected = np.repeat([n for _, n in rows], [lines for lines, _ in rows])
    return len(tokens) >= len(expected) and bool(
        np.array_equal(tokens[: len(expected)], expected) and not tokens[len(expected) :].any()
    )


def _tokens_per_line(buf: npt.NDArray[np.uint8]) -> npt.NDArray[np.int32]:
    """How many blank-separated tokens each line of `buf` holds; `buf` ends with "\n"."""
    blank = buf <= SPACE
    token_start = ~blank
    token_start[1:] &= blank[:-1]
    line_start = np.concatenate(([0], np.flatnonzero(buf == NEWLINE)[:-1] + 1))
    return np.add.reduceat(token_start.view(np.uint8), line_start, dtype=np.int32)


READERS: dict[CadFormat, Callable[[bytes], IndexedMesh | None]] = {
    CadFormat.PLY: read_simple_ply,
    CadFormat.OFF: read_simple_off,
}
