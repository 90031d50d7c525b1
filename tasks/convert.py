"""Conversion (`cad` queue): a CAD model → a binary glTF (e3dx) web viewers open,
carrying what the model measures: format, units, bounds, triangles, area and,
for closed solids, volume."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
import trimesh
from pydantic import BaseModel

from tasks.errors import InvalidInput, UnsupportedFormat
from tasks.formats import TRIMESH_TYPE, TWO_D, CadFormat, detect_format
from tasks.types import JobContext, JobOutcome

OBJ_FACE = re.compile(r"^\s*f\s+(.*)$", re.MULTILINE)


class ConvertParams(BaseModel):
    """Params of `convert`."""

    target_format: Literal["e3dx"] = "e3dx"


def run_convert(ctx: JobContext) -> JobOutcome:
    """Convert the single input to GLB; the output is `<stem>.glb`."""
    if len(ctx.inputs) != 1:
        raise InvalidInput("conversion takes exactly one input file")
    source = ctx.inputs[0]
    fmt = detect_format(source)
    if fmt in TWO_D:
        raise UnsupportedFormat(f"a 2D drawing ({fmt}) cannot be converted to e3dx")
    ctx.progress(5, "detected")
    scene = load_scene(source, fmt)
    ctx.progress(60, "loaded")
    metadata = describe(scene, fmt)
    scene.metadata.update(metadata)
    out = ctx.workdir / f"{Path(source.name).stem or 'model'}.glb"
    out.write_bytes(scene.export(file_type="glb"))
    ctx.progress(100, "written")
    return JobOutcome(result=metadata, outputs=(out,))


def load_scene(source: Path, fmt: CadFormat) -> trimesh.Scene:
    """The model as a scene of triangle meshes; `InvalidInput` with the reason if it won't load."""
    if fmt is CadFormat.OBJ:
        check_obj_faces(source)
    try:
        loaded = trimesh.load(source, file_type=TRIMESH_TYPE.get(fmt, fmt.value), force="scene")
    except Exception as exc:
        raise InvalidInput(f"the {fmt} file could not be read: {_reason(exc)}") from None
    assert isinstance(loaded, trimesh.Scene)  # force="scene"
    meshes = [g for g in loaded.geometry.values() if isinstance(g, trimesh.Trimesh)]
    if not meshes or sum(len(m.faces) for m in meshes) == 0:
        raise InvalidInput(f"the {fmt} file holds no triangles")
    if any(not np.isfinite(m.vertices).all() for m in meshes):
        raise InvalidInput(f"the {fmt} file has vertices that are not finite numbers")
    return loaded


def check_obj_faces(source: Path) -> None:
    """Refuse OBJ faces with fewer than three vertices, which loaders silently drop."""
    text = source.read_text(errors="replace")
    for number, match in enumerate(OBJ_FACE.finditer(text), start=1):
        if len(match.group(1).split()) < 3:
            raise InvalidInput(f"OBJ face {number} has fewer than three vertices")


def describe(scene: trimesh.Scene, fmt: CadFormat) -> dict[str, Any]:
    """What the model measures, in its own units; volume only for closed solids."""
    mesh = scene.to_mesh()
    closed = bool(mesh.is_watertight and mesh.is_winding_consistent)
    return {
        "source_format": fmt.value,
        "units": scene.units,
        "bounding_box": {"min": mesh.bounds[0].tolist(), "max": mesh.bounds[1].tolist()},
        "triangle_count": len(mesh.faces),
        "surface_area": float(mesh.area),
        "watertight": closed,
        "volume": float(abs(mesh.volume)) if closed else None,
    }


def _reason(exc: Exception) -> str:
    return str(exc).strip().split("\n")[0][:200] or type(exc).__name__
