"""Conversion as a plain function, on the real fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import trimesh

from tasks.convert import (
    ConvertParams,
    TargetFormat,
    Tessellation,
    area_and_volume,
    is_closed_solid,
    load_scene,
    referenced_bounds,
    run_convert,
    scene_triangles,
    short_obj_face,
    target_mismatch,
)
from tasks.errors import InvalidInput, UnsupportedFormat
from tasks.formats import CadFormat, detect_format
from tasks.types import JobContext, JobOutcome

FIXTURES = Path(__file__).parents[1] / "fixtures" / "cad"
# trimesh has no IGES reader to compare with: the IGES fixture has its own test.
MODELS = sorted(p for p in FIXTURES.glob("*.*") if p.suffix.lower() not in {".md", ".igs"})
IGES_HEADER = " " * 72 + "S0000001\n"
KNOWN_FORMATS = {
    "20mm-xyz-cube.stl": CadFormat.STL,
    "Duck.glb": CadFormat.GLB,
    "P_XPM_0331_01.3mf": CadFormat.THREEMF,
    "ballA.off": CadFormat.OFF,
    "base_interface_AP203.STEP": CadFormat.STEP,
    "base_interface_AP203.igs": CadFormat.IGES,
    "blue_cube.dae": CadFormat.DAE,
    "bunny.ply": CadFormat.PLY,
    "featuretype.STEP": CadFormat.STEP,
    "featuretype.STL": CadFormat.STL,
    "fuze.obj": CadFormat.OBJ,
    "octagonal_pocket.stl": CadFormat.STL,
    "2d/cycloidal.dxf": CadFormat.DXF,
    "2d/polygon.svg": CadFormat.SVG,
    "2d/spline.DXF": CadFormat.DXF,
    "2d/text.dxf": CadFormat.DXF,  # opens with a 999 comment group
    "2d/wrench.dxf": CadFormat.DXF,
    "bad/busted.STL": CadFormat.STL,
}


def convert(source: Path, tmp_path: Path) -> JobOutcome:
    return run_convert(JobContext(params=ConvertParams(), workdir=tmp_path, inputs=(source,)))


def scene_of(path: Path) -> trimesh.Scene:
    """The file as trimesh loads it, as a scene."""
    scene = trimesh.load(path, force="scene")
    assert isinstance(scene, trimesh.Scene)
    return scene


@pytest.mark.parametrize("name", sorted(KNOWN_FORMATS))
def test_format_is_recognised_from_content(name: str, tmp_path: Path) -> None:
    renamed = tmp_path / "upload.bin"
    renamed.write_bytes((FIXTURES / name).read_bytes())
    assert detect_format(renamed) is KNOWN_FORMATS[name]


@pytest.mark.parametrize("source", MODELS, ids=lambda p: p.name)
def test_every_3d_fixture_converts_to_a_glb_with_its_triangles_and_bounds(
    source: Path, tmp_path: Path
) -> None:
    original = scene_of(source).to_mesh()

    outcome = convert(source, tmp_path)

    [glb] = outcome.outputs
    assert glb.read_bytes()[:4] == b"glTF"
    reopened = scene_of(glb)
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


@pytest.mark.parametrize(
    ("fmt", "target", "refused"),
    [
        (CadFormat.STL, "e3dx", None),
        (CadFormat.IGES, "e3dx", None),
        (CadFormat.DXF, "e2dx", None),
        (CadFormat.SVG, "e2dx", None),
        (CadFormat.DXF, "e3dx", "a 2D drawing (dxf) cannot be converted to e3dx"),
        (CadFormat.SVG, "e3dx", "a 2D drawing (svg) cannot be converted to e3dx"),
        (CadFormat.STEP, "e2dx", "a 3D model (step) cannot be converted to e2dx"),
        (CadFormat.GLB, "e2dx", "a 3D model (glb) cannot be converted to e2dx"),
    ],
)
def test_the_target_must_suit_the_input_dimension(
    fmt: CadFormat, target: TargetFormat, refused: str | None
) -> None:
    reason = target_mismatch(fmt, target)

    if refused is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith(refused)


def test_an_iges_converts_to_the_triangles_of_its_step_twin(tmp_path: Path) -> None:
    # The .igs was written from the .STEP by OpenCASCADE 8.0's IGES writer (trimmed surfaces).
    step = scene_of(FIXTURES / "base_interface_AP203.STEP").to_mesh()

    outcome = convert(FIXTURES / "base_interface_AP203.igs", tmp_path)

    [glb] = outcome.outputs
    mesh = scene_of(glb).to_mesh()
    assert len(mesh.faces) == len(step.faces) == outcome.result["triangle_count"]
    # OpenCASCADE hands IGES over in millimetres, trimesh's STEP in metres.
    assert outcome.result["units"] == "millimeters"
    assert mesh.bounds == pytest.approx(step.bounds * 1000, rel=1e-4, abs=1e-3)
    assert outcome.result["source_format"] == "iges"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (IGES_HEADER, CadFormat.IGES),  # an empty start section: a record of blanks
        ("made by hand".ljust(72) + "S      1\n", CadFormat.IGES),
        ("made by hand".ljust(72) + "S      1\r\n", CadFormat.IGES),
    ],
)
def test_iges_is_recognised_by_its_start_record(
    head: str, expected: CadFormat, tmp_path: Path
) -> None:
    path = tmp_path / "part.bin"
    path.write_text(head + ",,;".ljust(72) + "G0000001\n")

    assert detect_format(path) is expected


def test_an_iges_without_shapes_fails_readably(tmp_path: Path) -> None:
    empty = tmp_path / "empty.igs"
    empty.write_text(IGES_HEADER + "garbage".ljust(72) + "G0000001\n")

    with pytest.raises(InvalidInput, match="OpenCASCADE found no shapes"):
        convert(empty, tmp_path)


BREP_MODELS = [
    ("base_interface_AP203.STEP", CadFormat.STEP),
    ("base_interface_AP203.igs", CadFormat.IGES),
    ("featuretype.STEP", CadFormat.STEP),
]


@pytest.mark.parametrize(("name", "fmt"), BREP_MODELS)
@pytest.mark.parametrize("fraction", [0.01, 0.002])
def test_a_relative_tessellation_meshes_fewer_triangles_within_half_its_fraction(
    name: str, fmt: CadFormat, fraction: float
) -> None:
    fine = load_scene(FIXTURES / name, fmt)
    coarse = load_scene(FIXTURES / name, fmt, Tessellation(linear=fraction, relative=True))

    fine_mesh, coarse_mesh = fine.to_mesh(), coarse.to_mesh()
    assert 0 < len(coarse_mesh.faces) < len(fine_mesh.faces)
    assert coarse.units == fine.units
    # OpenCASCADE lets no edge or face stray more than half the fraction of the model's size.
    size = fine_mesh.extents.max()
    assert np.abs(coarse_mesh.bounds - fine_mesh.bounds).max() <= fraction / 2 * size


@pytest.mark.parametrize(("name", "fmt"), BREP_MODELS)
def test_cascadios_own_tolerances_mesh_as_no_tessellation_does(name: str, fmt: CadFormat) -> None:
    default = load_scene(FIXTURES / name, fmt).to_mesh()

    same = load_scene(FIXTURES / name, fmt, Tessellation(linear=0.01, angular_rad=0.5)).to_mesh()

    assert len(same.faces) == len(default.faces)
    assert same.bounds == pytest.approx(default.bounds)


@pytest.mark.parametrize("tessellation", [None, Tessellation(linear=0.01, relative=True)])
@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        (".step", "ISO-10303-21;\nHEADER;\nnothing here\nENDSEC;\nEND-ISO-10303-21;\n"),
        (".igs", IGES_HEADER + "garbage".ljust(72) + "G0000001\n"),
    ],
)
def test_a_brep_file_without_shapes_fails_readably_however_it_is_meshed(
    suffix: str, text: str, tessellation: Tessellation | None, tmp_path: Path
) -> None:
    source = tmp_path / f"empty{suffix}"
    source.write_text(text)

    with pytest.raises(InvalidInput, match="could not be read"):
        load_scene(source, detect_format(source), tessellation)


def test_an_stl_whose_stored_normals_are_all_zero_converts(tmp_path: Path) -> None:
    # bad/busted.STL: a clean closed tooth whose facet normals are (0, 0, 0); STL readers,
    # trimesh among them, take a facet's normal from its winding, as exporters expect.
    outcome = convert(FIXTURES / "bad/busted.STL", tmp_path)

    assert outcome.result["triangle_count"] == 3878
    assert outcome.result["watertight"] is True
    assert outcome.result["volume"] == pytest.approx(526.449, rel=1e-4)
    mesh = scene_of(outcome.outputs[0]).to_mesh()
    assert np.linalg.norm(mesh.face_normals, axis=1) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("text", "short"),
    [
        (b"", None),
        (b"v 0 0 0\nf 1 2 3\n", None),
        (b"f 1 2 3", None),  # no final newline
        (b"f\t1\t2\t3\r\n", None),
        (b"f 1/1/1 2/2/2 3/3/3 4/4/4\n", None),
        (b"# f 1\nfoo 1\nvf 1\n", None),  # not face lines
        (b"f 1 2\n", 1),
        (b"f\n", 1),
        (b"f", 1),
        (b"f 1 2 3\r\nf 1 2\r\n", 2),
        (b"f 1 2 3\n\n  f 1 2 3\n   f 1  2 \n", 3),  # indented faces count too
        (b"  \n f 1 2 3\n", None),
    ],
)
def test_a_short_obj_face_is_found_by_its_number(text: bytes, short: int | None) -> None:
    assert short_obj_face(text) == short


TETRA = np.array([[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]])


@pytest.mark.parametrize(
    ("faces", "closed"),
    [
        (TETRA, True),
        (TETRA[[0, 1, 2]], False),  # a face missing
        (np.vstack([TETRA[:3], TETRA[3, ::-1]]), False),  # a face wound the other way
        (np.vstack([TETRA, TETRA[:1]]), False),  # a face twice
    ],
)
def test_a_closed_solid_has_each_edge_once_each_way(faces: np.ndarray, closed: bool) -> None:
    assert is_closed_solid(faces, 4) is closed


@pytest.mark.parametrize("source", MODELS, ids=lambda p: p.name)
def test_the_measures_agree_with_trimesh(source: Path) -> None:
    scene = scene_of(source)
    mesh = scene.to_mesh()

    vertices, faces = scene_triangles(scene)
    area, volume = area_and_volume(vertices, faces)
    closed = is_closed_solid(faces, len(vertices))

    assert len(faces) == len(mesh.faces)
    assert np.array(referenced_bounds(vertices, faces)) == pytest.approx(mesh.bounds, rel=1e-9)
    assert area == pytest.approx(mesh.area, rel=1e-9)
    assert closed is bool(mesh.is_watertight and mesh.is_winding_consistent)
    if closed:
        assert volume == pytest.approx(mesh.volume, rel=1e-9)


@pytest.mark.parametrize(
    ("offset", "flipped", "volume"),
    [(0.0, False, 1.0), (0.0, True, -1.0), (1e7, False, 1.0)],
)
def test_the_volume_of_a_unit_cube(offset: float, flipped: bool, volume: float) -> None:
    cube = trimesh.creation.box()
    faces = cube.faces[:, ::-1] if flipped else cube.faces

    assert area_and_volume(cube.vertices + offset, faces) == pytest.approx((6, volume), rel=1e-9)


def test_bounds_leave_out_vertices_no_face_uses() -> None:
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 2, 0], [50, 50, 50]], dtype=float)

    low, high = referenced_bounds(vertices, np.array([[0, 1, 2]]))

    assert (low.tolist(), high.tolist()) == ([0, 0, 0], [1, 2, 0])


def test_a_scene_of_placed_meshes_is_measured_as_one() -> None:
    scene = trimesh.Scene()
    box = trimesh.creation.box()
    scene.add_geometry(box, node_name="a")
    scene.add_geometry(box, node_name="b", transform=trimesh.transformations.scale_matrix(2))
    scene.add_geometry(trimesh.creation.icosphere(), transform=np.diag([1, 1, 1, 1.0]))
    whole = scene.to_mesh()

    vertices, faces = scene_triangles(scene)

    assert len(faces) == len(whole.faces)
    assert np.array(referenced_bounds(vertices, faces)) == pytest.approx(whole.bounds)
    assert area_and_volume(vertices, faces)[0] == pytest.approx(whole.area)
