"""Conversion as a plain function, on the real fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trimesh

from tasks.convert import ConvertParams, run_convert
from tasks.errors import InvalidInput, UnsupportedFormat
from tasks.formats import CadFormat, detect_format
from tasks.types import JobContext

FIXTURES = Path(__file__).parents[1] / "fixtures" / "cad"
MODELS = sorted(p for p in FIXTURES.glob("*.*") if p.suffix.lower() != ".md")
KNOWN_FORMATS = {
    "20mm-xyz-cube.stl": CadFormat.STL,
    "Duck.glb": CadFormat.GLB,
    "P_XPM_0331_01.3mf": CadFormat.THREEMF,
    "ballA.off": CadFormat.OFF,
    "base_interface_AP203.STEP": CadFormat.STEP,
    "blue_cube.dae": CadFormat.DAE,
    "bunny.ply": CadFormat.PLY,
    "featuretype.STEP": CadFormat.STEP,
    "featuretype.STL": CadFormat.STL,
    "fuze.obj": CadFormat.OBJ,
    "octagonal_pocket.stl": CadFormat.STL,
    "2d/cycloidal.dxf": CadFormat.DXF,
    "2d/polygon.svg": CadFormat.SVG,
    "2d/spline.DXF": CadFormat.DXF,
}


def convert(source: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    return run_convert(JobContext(params=ConvertParams(), workdir=tmp_path, inputs=(source,)))


@pytest.mark.parametrize("name", sorted(KNOWN_FORMATS))
def test_format_is_recognised_from_content(name: str, tmp_path: Path) -> None:
    renamed = tmp_path / "upload.bin"
    renamed.write_bytes((FIXTURES / name).read_bytes())
    assert detect_format(renamed) is KNOWN_FORMATS[name]


@pytest.mark.parametrize("source", MODELS, ids=lambda p: p.name)
def test_every_3d_fixture_converts_to_a_glb_with_its_triangles_and_bounds(
    source: Path, tmp_path: Path
) -> None:
    original = trimesh.load(source, force="scene").to_mesh()

    outcome = convert(source, tmp_path)

    [glb] = outcome.outputs
    assert glb.read_bytes()[:4] == b"glTF"
    reopened = trimesh.load(glb, force="scene")
    mesh = reopened.to_mesh()
    assert len(mesh.faces) == len(original.faces) == outcome.result["triangle_count"] > 0
    assert mesh.bounds == pytest.approx(original.bounds, rel=1e-5, abs=1e-6)
    assert reopened.metadata["source_format"] == outcome.result["source_format"]
    assert outcome.result["surface_area"] > 0


def test_a_closed_solid_reports_its_volume(tmp_path: Path) -> None:
    result = convert(FIXTURES / "20mm-xyz-cube.stl", tmp_path).result

    assert result["watertight"] is True
    assert result["volume"] == pytest.approx(7938.68, rel=1e-3)


@pytest.mark.parametrize("name", ["2d/cycloidal.dxf", "2d/polygon.svg"])
def test_a_2d_drawing_is_not_supported_as_e3dx(name: str, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormat, match="2D drawing"):
        convert(FIXTURES / name, tmp_path)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("bad/empty.stl", "no triangles"),
        ("bad/ply_empty_header.ply", "no triangles"),
        ("bad/notenoughindices.obj", "fewer than three vertices"),
    ],
)
def test_bad_fixtures_fail_with_a_readable_reason(name: str, reason: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=reason):
        convert(FIXTURES / name, tmp_path)


def test_a_png_named_obj_is_caught(tmp_path: Path) -> None:
    fake = tmp_path / "model.obj"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(200))
    with pytest.raises(UnsupportedFormat, match="PNG image"):
        convert(fake, tmp_path)


def test_random_bytes_named_step_are_caught(tmp_path: Path) -> None:
    fake = tmp_path / "part.step"
    fake.write_bytes(os.urandom(4096))
    with pytest.raises(UnsupportedFormat, match="not a CAD format"):
        convert(fake, tmp_path)


def test_a_truncated_stl_fails_clearly(tmp_path: Path) -> None:
    cut = tmp_path / "cut.stl"
    cut.write_bytes((FIXTURES / "featuretype.STL").read_bytes()[:5000])
    with pytest.raises((InvalidInput, UnsupportedFormat)):
        convert(cut, tmp_path)


def test_an_empty_upload_fails_clearly(tmp_path: Path) -> None:
    empty = tmp_path / "nothing.stl"
    empty.write_bytes(b"")
    with pytest.raises(InvalidInput, match="empty"):
        convert(empty, tmp_path)
