"""Recognising CAD formats from their content, not their names.

The API sniffs uploads in its own process, so a sniff reads a bounded part of a file
whatever its size: the first `SNIFF_BYTES`, its size from the file system, and for a
zip archive its end record and a directory of at most `MAX_ZIP_DIRECTORY_BYTES`."""

from __future__ import annotations

import json
import re
import struct
import zipfile
from enum import StrEnum
from pathlib import Path

from tasks.errors import InvalidInput, UnsupportedFormat

SNIFF_BYTES = 64 * 1024
STL_HEADER_BYTES = 84
STL_TRIANGLE_BYTES = 50
# A zip's end record (22 bytes, signature first) is followed by a comment of up to 64 KiB.
ZIP_END_RECORD = struct.Struct("<4s4H2LH")
ZIP_END_SIGNATURE = b"PK\x05\x06"
ZIP_MAX_COMMENT_BYTES = 0xFFFF
# A 3MF package lists a handful of parts; a directory this large lists thousands.
MAX_ZIP_DIRECTORY_BYTES = 1024 * 1024


class CadFormat(StrEnum):
    STL = "stl"
    OBJ = "obj"
    PLY = "ply"
    OFF = "off"
    GLB = "glb"
    GLTF = "gltf"
    THREEMF = "3mf"
    DAE = "dae"
    STEP = "step"
    IGES = "iges"
    DXF = "dxf"
    SVG = "svg"


TWO_D = frozenset({CadFormat.DXF, CadFormat.SVG})
# Formats whose loaders trimesh picks by the name it is given; IGES it has none for
# (tasks/convert.py hands IGES to cascadio itself).
TRIMESH_TYPE = {CadFormat.THREEMF: "3mf", CadFormat.STEP: "step"}
NOT_CAD = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
}
# DXF opens with a SECTION group, after any 999 (comment) groups, e.g. "999\ndxfrw 0.6.3".
DXF_START = re.compile(rb"^(?:999[ \t]*\r?\n[^\n]*\n\s*)*0[ \t]*\r?\n\s*SECTION")
OBJ_LINE = re.compile(rb"^\s*(v|vn|vt|f|o|g|s|usemtl|mtllib|l)\s", re.MULTILINE)


def detect_format(path: Path) -> CadFormat:
    """The file's format, judged from its bytes; `UnsupportedFormat` or `InvalidInput` if none."""
    size = path.stat().st_size
    if size == 0:
        raise InvalidInput("the file is empty")
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    for magic, what in NOT_CAD.items():
        if head.startswith(magic):
            raise UnsupportedFormat(f"the file is {what}, not a CAD model or drawing")
    found = _binary_format(path, head, size) or _text_format(head)
    if found is None:
        raise UnsupportedFormat("the content is not a CAD format this farm reads")
    return found


def _binary_format(path: Path, head: bytes, size: int) -> CadFormat | None:
    if head.startswith(b"glTF"):
        return CadFormat.GLB
    if head.startswith(b"PK\x03\x04"):
        return _zip_format(path, size)
    # Binary STL by its exact size; many exporters start the header with "solid" too.
    if size >= STL_HEADER_BYTES:
        triangles = int.from_bytes(head[80:84], "little")
        if size == STL_HEADER_BYTES + STL_TRIANGLE_BYTES * triangles:
            return CadFormat.STL
    return None


def _zip_format(path: Path, size: int) -> CadFormat:
    directory = _zip_directory_bytes(path, size)
    if directory is None:
        raise InvalidInput("the file looks like a zip archive but is damaged")
    if directory > MAX_ZIP_DIRECTORY_BYTES:
        raise UnsupportedFormat("the zip archive lists more files than a 3MF package holds")
    try:
        with zipfile.ZipFile(path) as archive:
            names = {name.lower() for name in archive.namelist()}
    except zipfile.BadZipFile:
        raise InvalidInput("the file looks like a zip archive but is damaged") from None
    if "3d/3dmodel.model" in names:
        return CadFormat.THREEMF
    raise UnsupportedFormat("the zip archive is not a 3MF package")


def _zip_directory_bytes(path: Path, size: int) -> int | None:
    """The size of the zip's central directory, from the end record in the file's last
    64 KiB (which `zipfile` then reads whole); None if there is no end record. A ZIP64
    count or size counts as too large: no 3MF package needs one."""
    tail_bytes = min(size, ZIP_END_RECORD.size + ZIP_MAX_COMMENT_BYTES)
    with path.open("rb") as f:
        f.seek(size - tail_bytes)
        tail = f.read(tail_bytes)
    at = tail.rfind(ZIP_END_SIGNATURE)
    if at < 0 or len(tail) - at < ZIP_END_RECORD.size:
        return None
    *_, entries, directory, _, _ = ZIP_END_RECORD.unpack_from(tail, at)
    if entries == 0xFFFF or directory == 0xFFFFFFFF:
        return MAX_ZIP_DIRECTORY_BYTES + 1
    return int(directory)


def _text_format(head: bytes) -> CadFormat | None:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    lowered = text[:4096].lower()
    if text.startswith(b"ISO-10303-21"):
        return CadFormat.STEP
    if _looks_like_iges(head.removeprefix(b"\xef\xbb\xbf")):
        return CadFormat.IGES
    if text.startswith((b"ply\n", b"ply\r\n")):
        return CadFormat.PLY
    if re.match(rb"^[CN]?OFF\s", text):
        return CadFormat.OFF
    if text.startswith(b"solid") and (b"facet" in text[:4096] or b"endsolid" in text):
        return CadFormat.STL
    if b"<collada" in lowered:
        return CadFormat.DAE
    if b"<svg" in lowered:
        return CadFormat.SVG
    if DXF_START.match(text):
        return CadFormat.DXF
    if text.startswith(b"{") and _looks_like_gltf(head):
        return CadFormat.GLTF
    if len(OBJ_LINE.findall(text[:8192])) >= 3:
        return CadFormat.OBJ
    return None


def _looks_like_iges(head: bytes) -> bool:
    """IGES's first record is 80 columns, "S" in column 73 and its sequence number after.

    Judged on the unstripped head: an empty start section is a record of 72 blanks.
    """
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    return len(first) == 80 and first[72:73] == b"S" and first[73:].strip().isdigit()


def _looks_like_gltf(head: bytes) -> bool:
    try:
        doc = json.loads(head)
    except ValueError:
        return False
    return isinstance(doc, dict) and "version" in doc.get("asset", {})
