"""Thumbnails as plain functions: framing and rasterising as tables, then the job on the
real fixtures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image
from pydantic import ValidationError

from tasks.convert import load_scene
from tasks.errors import InvalidInput, UnsupportedFormat
from tasks.formats import CadFormat, detect_format
from tasks.thumbnail import (
    ThumbnailParams,
    load_triangles,
    run_thumbnail,
    shading,
    thumbnail_tessellation,
)
from tasks.thumbnail.framing import frame, is_z_up, supersampling, view_rotation
from tasks.thumbnail.mesh_readers import read_simple_mesh
from tasks.thumbnail.render import rasterise
from tasks.thumbnail.shading import shade
from tasks.thumbnail.triangles import (
    PRODUCT_GREY,
    STL_CHUNK_TRIANGLES,
    Triangles,
    from_scene,
    read_binary_stl,
)
from tasks.types import JobContext, JobOutcome

FIXTURES = Path(__file__).parents[1] / "fixtures" / "cad"
MODELS = sorted(
    p
    for p in FIXTURES.glob("*.*")
    if p.suffix.lower() != ".md" and detect_format(p) not in {CadFormat.DXF, CadFormat.SVG}
)
SIZES = [(64, 64), (256, 256), (800, 600)]
WHITE = (255, 255, 255)


def thumbnail(source: Path, tmp_path: Path, **params: object) -> JobOutcome:
    return run_thumbnail(
        JobContext(
            params=ThumbnailParams.model_validate(params), workdir=tmp_path, inputs=(source,)
        )
    )


def silhouette(image: Image.Image, background: tuple[int, ...]) -> np.ndarray:
    pixels = np.asarray(image.convert("RGB")).astype(int)
    return np.abs(pixels - np.array(background)).sum(axis=2) > 24


# Framing


@pytest.mark.parametrize(
    ("low", "high", "width", "height", "scale"),
    [
        ((-1, -1), (1, 1), 100, 100, 44.0),
        ((-1, -1), (1, 1), 800, 600, 264.0),
        ((-1, -1), (1, 1), 600, 800, 264.0),
        ((0, 0), (4, 1), 100, 100, 22.0),
        ((0, 0), (1, 4), 100, 100, 22.0),
        ((0, 0), (1, 1), 1, 2048, 0.88),
        ((5, 5), (5, 7), 100, 100, 44.0),
        ((3, 3), (3, 3), 100, 100, 1.0),
    ],
)
def test_framing_fits_the_box_with_a_margin_whatever_the_aspect(
    low: tuple[float, float],
    high: tuple[float, float],
    width: int,
    height: int,
    scale: float,
) -> None:
    framing = frame(low, high, width, height, margin=0.06)

    assert framing.scale == pytest.approx(scale)
    assert (framing.centre_x, framing.centre_y) == pytest.approx(
        ((low[0] + high[0]) / 2, (low[1] + high[1]) / 2)
    )


@pytest.mark.parametrize(
    ("fmt", "z_up"),
    [
        (CadFormat.STL, True),
        (CadFormat.THREEMF, True),
        (CadFormat.STEP, True),
        (CadFormat.IGES, True),
        (CadFormat.GLB, False),
        (CadFormat.GLTF, False),
        (CadFormat.OBJ, False),
        (CadFormat.PLY, False),
        (CadFormat.DAE, False),
        (CadFormat.OFF, False),
    ],
)
def test_up_axis_follows_the_format_convention(fmt: CadFormat, z_up: bool) -> None:
    assert is_z_up(fmt) is z_up


@pytest.mark.parametrize(
    ("z_up", "up", "front_right_top"),
    [(True, (0, 0, 1), (1, -1, 1)), (False, (0, 1, 0), (1, 1, 1))],
)
def test_the_camera_looks_down_on_the_front_right_corner(
    z_up: bool, up: tuple[int, ...], front_right_top: tuple[int, ...]
) -> None:
    rotation = view_rotation(z_up)
    corners = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T

    assert rotation @ rotation.T == pytest.approx(np.eye(3))
    assert np.linalg.det(rotation) == pytest.approx(1.0)
    assert (rotation @ up)[1] > 0.8  # the world's up is up on screen, seen from 30° above
    nearest = corners[np.argmax((corners @ rotation.T)[:, 2])]
    assert tuple(nearest) == front_right_top


@pytest.mark.parametrize(
    ("width", "height", "factor"),
    [(1, 1, 3), (64, 64, 3), (170, 170, 3), (256, 256, 2), (800, 600, 2), (2048, 2048, 2)],
)
def test_supersampling_is_finer_for_small_thumbnails_and_capped_for_large(
    width: int, height: int, factor: int
) -> None:
    assert supersampling(width, height) == factor
    assert width * height * factor**2 <= 4096 * 4096


# Rasterising


def draw_samples(triangles: list[list[tuple[float, float, float]]], size: int = 4) -> np.ndarray:
    corners = np.array(triangles, dtype=np.float32)
    x, y, z = (np.ascontiguousarray(corners[:, :, i]) for i in range(3))
    return rasterise(x, y, z, size, size).reshape(size, size)


SQUARE = [[(1, 1, 0.5), (3, 1, 0.5), (3, 3, 0.5)], [(1, 1, 0.5), (3, 3, 0.5), (1, 3, 0.5)]]


@pytest.mark.parametrize("flip", [False, True], ids=["one winding", "the other"])
def test_two_triangles_cover_exactly_the_sample_centres_inside_their_square(flip: bool) -> None:
    triangles = [t[::-1] if flip else t for t in SQUARE]

    covered = draw_samples(triangles) < 2

    assert covered.tolist() == [
        [False, False, False, False],
        [False, True, True, False],
        [False, True, True, False],
        [False, False, False, False],
    ]


@pytest.mark.parametrize("near_first", [True, False])
def test_the_nearer_triangle_wins_whatever_the_order(near_first: bool) -> None:
    near = [(0, 0, 0.2), (4, 0, 0.2), (0, 4, 0.2)]
    far = [(0, 0, 0.8), (4, 0, 0.8), (0, 4, 0.8)]
    triangles = [near, far] if near_first else [far, near]

    nearest = draw_samples(triangles)

    assert nearest[0, 0] == (0 if near_first else 1)


@pytest.mark.parametrize(
    ("triangle", "drawn"),
    [
        ([(1.4, 1.4, 0), (1.7, 1.4, 0), (1.4, 1.7, 0)], True),  # tiny, over a sample centre
        ([(1.6, 1.6, 0), (1.9, 1.6, 0), (1.6, 1.9, 0)], False),  # tiny, between centres
        ([(0, 0, 0), (4, 0, 0), (4, 0, 0)], False),  # no area
        ([(-9, -9, 0), (-5, -9, 0), (-9, -5, 0)], False),  # off the picture
    ],
)
def test_small_and_stray_triangles(triangle: list[tuple[float, ...]], drawn: bool) -> None:
    assert (draw_samples([triangle]) == 0).any() == drawn


def quad(depth_left: float, depth_right: float, side: int) -> list[list[tuple[float, ...]]]:
    """Two triangles covering a `side`-sample square, their depth a ramp across it."""
    a, b = (0, 0, depth_left), (side, 0, depth_right)
    c, d = (side, side, depth_right), (0, side, depth_left)
    return [[a, b, c], [a, c, d]]


def test_along_each_row_the_nearer_of_two_crossing_squares_wins() -> None:
    side = 64
    rising, falling = quad(0.1, 0.9, side), quad(0.9, 0.1, side)

    nearest = draw_samples(rising + falling, size=side)

    # They cross half-way: to the left the rising square (triangles 0, 1) is nearer.
    assert (nearest[:, : side // 2] < 2).all()
    assert ((nearest[:, side // 2 :] >= 2) & (nearest[:, side // 2 :] < 4)).all()


def test_a_triangle_larger_than_the_picture_covers_it_all() -> None:
    assert (draw_samples([[(-50, -50, 0.5), (90, -50, 0.5), (-50, 90, 0.5)]]) == 0).all()


def test_lighting_is_two_sided_and_favours_the_key_light() -> None:
    base = np.array([PRODUCT_GREY] * 4, dtype=np.uint8)
    normals = np.array([[0, 0, 1], [0, 0, -1], [-0.45, 0.65, 0.62], [0, 0, 0]], np.float32)

    lit = shade(normals, base).astype(int)

    assert lit[0].tolist() == lit[1].tolist()
    assert lit[2].sum() > lit[0].sum()
    assert (lit[3] > 0).all()


def test_along_is_each_vectors_dot_product_with_the_direction() -> None:
    vectors = np.array([[1, 0, 0], [0, 2, 0], [1, 1, 1], [-3, 0.5, 2]], np.float32)

    dots = shading.along(vectors, (2.0, -1.0, 0.5))

    assert dots.dtype == np.float32
    assert dots.tolist() == [2.0, -2.0, 1.5, -5.5]


def test_the_highlight_cut_off_changes_no_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    normals = np.random.default_rng(7).normal(size=(20_000, 3)).astype(np.float32)
    base = np.random.default_rng(8).integers(0, 256, size=(20_000, 3), dtype=np.uint8)
    lit = shade(normals, base)

    monkeypatch.setattr(shading, "HIGHLIGHT_FLOOR", 0.0)

    assert np.array_equal(shade(normals, base), lit)


# The job


@pytest.mark.parametrize(("width", "height"), SIZES, ids=lambda v: str(v))
@pytest.mark.parametrize("source", MODELS, ids=lambda p: p.name)
def test_every_3d_fixture_makes_a_centred_thumbnail_of_the_requested_size(
    source: Path, width: int, height: int, tmp_path: Path
) -> None:
    outcome = thumbnail(source, tmp_path, width=width, height=height)

    [png] = outcome.outputs
    assert png.name == f"{source.stem}.png"
    image = Image.open(png)
    assert image.size == (width, height)
    shape = silhouette(image, WHITE)
    assert shape.mean() > 0.05
    rows, cols = np.flatnonzero(shape.any(axis=1)), np.flatnonzero(shape.any(axis=0))
    centre_x, centre_y = (cols[0] + cols[-1] + 1) / 2, (rows[0] + rows[-1] + 1) / 2
    assert abs(centre_x - width / 2) <= 0.03 * width + 1
    assert abs(centre_y - height / 2) <= 0.03 * height + 1


def test_the_result_describes_the_thumbnail(tmp_path: Path) -> None:
    outcome = thumbnail(FIXTURES / "Duck.glb", tmp_path, width=120, height=90)

    assert outcome.result == {
        "width": 120,
        "height": 90,
        "triangle_count": 4212,
        "source_format": "glb",
    }


def test_progress_is_reported_at_each_stage(tmp_path: Path) -> None:
    stages: list[str] = []
    params = ThumbnailParams(width=32, height=32)
    ctx = JobContext(
        params=params,
        workdir=tmp_path,
        inputs=(FIXTURES / "ballA.off",),
        progress=lambda completion, stage: stages.append(stage),
    )

    run_thumbnail(ctx)

    assert stages == ["detected", "loaded", "rendered", "written"]


def test_the_background_colour_is_honoured(tmp_path: Path) -> None:
    [png] = thumbnail(
        FIXTURES / "bunny.ply", tmp_path, width=64, height=64, background="#102030"
    ).outputs

    image = Image.open(png)
    assert image.mode == "RGB"
    assert image.getpixel((0, 0)) == (16, 32, 48)
    assert silhouette(image, (16, 32, 48)).mean() > 0.05


def test_a_transparent_background_has_alpha_zero_around_an_opaque_model(tmp_path: Path) -> None:
    [png] = thumbnail(
        FIXTURES / "featuretype.STL", tmp_path, width=64, height=64, background="transparent"
    ).outputs

    alpha = np.asarray(Image.open(png))[:, :, 3]
    assert Image.open(png).mode == "RGBA"
    assert alpha[0, 0] == 0
    assert (alpha == 255).mean() > 0.05


@pytest.mark.parametrize(("width", "height"), [(1, 1), (1, 2048), (2048, 1)])
def test_extreme_shapes_work(width: int, height: int, tmp_path: Path) -> None:
    [png] = thumbnail(FIXTURES / "20mm-xyz-cube.stl", tmp_path, width=width, height=height).outputs

    assert Image.open(png).size == (width, height)


@pytest.mark.parametrize(
    "params",
    [
        {"width": 0, "height": 64},
        {"width": 2049, "height": 64},
        {"width": 64, "height": 0},
        {"width": 64},
        {"width": 64, "height": 64, "background": "white"},
        {"width": 64, "height": 64, "background": "#12345"},
    ],
)
def test_params_out_of_range_are_refused(params: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ThumbnailParams.model_validate(params)


@pytest.mark.parametrize("name", ["2d/cycloidal.dxf", "2d/polygon.svg"])
def test_a_2d_drawing_is_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormat, match="3D models only"):
        thumbnail(FIXTURES / name, tmp_path, width=64, height=64)


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
        thumbnail(FIXTURES / name, tmp_path, width=64, height=64)


def test_a_binary_stl_is_read_directly_with_every_triangle() -> None:
    source = FIXTURES / "featuretype.STL"

    direct = read_binary_stl(source)

    reference = trimesh.load(source, process=False)
    assert direct.corners.tolist() == reference.triangles.astype(np.float32).tolist()


@pytest.mark.parametrize(
    ("count", "value", "reason"),
    [(0, 0.0, "no triangles"), (1, float("nan"), "not finite")],
)
def test_a_binary_stl_with_nothing_to_draw_is_refused(
    count: int, value: float, reason: str, tmp_path: Path
) -> None:
    source = tmp_path / "part.stl"
    record = np.zeros(count, dtype=[("n", "<f4", 3), ("v", "<f4", 9), ("a", "<u2")])
    record["v"] = value
    source.write_bytes(bytes(80) + count.to_bytes(4, "little") + record.tobytes())

    with pytest.raises(InvalidInput, match=reason):
        thumbnail(source, tmp_path, width=64, height=64)


def test_a_binary_stl_of_many_chunks_is_read_with_every_triangle(tmp_path: Path) -> None:
    source = tmp_path / "sphere.stl"
    sphere = trimesh.creation.icosphere(subdivisions=5)  # 20,480 triangles
    assert len(sphere.faces) > STL_CHUNK_TRIANGLES
    sphere.export(source)

    direct = read_binary_stl(source)

    assert np.array_equal(direct.corners, sphere.triangles.astype(np.float32))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_a_binary_stl_with_one_bad_coordinate_in_its_last_chunk_is_refused(
    value: float, tmp_path: Path
) -> None:
    count = STL_CHUNK_TRIANGLES + 5
    source = tmp_path / "part.stl"
    record = np.zeros(count, dtype=[("n", "<f4", 3), ("v", "<f4", 9), ("a", "<u2")])
    record["v"][-1, 4] = value
    source.write_bytes(bytes(80) + count.to_bytes(4, "little") + record.tobytes())

    with pytest.raises(InvalidInput, match="not finite"):
        read_binary_stl(source)


# Loading for thumbnails


@pytest.mark.parametrize(
    ("width", "height", "fraction"),
    [
        (1, 1, 0.01),
        (64, 64, 0.01),
        (80, 80, 0.01),
        (256, 256, 0.003125),
        (800, 600, 0.001),
        (600, 800, 0.001),
        (2048, 1, 0.000390625),
    ],
)
def test_the_tessellation_is_finer_for_larger_thumbnails(
    width: int, height: int, fraction: float
) -> None:
    tessellation = thumbnail_tessellation(width, height)

    assert tessellation.relative is True
    assert tessellation.linear == pytest.approx(fraction)
    assert tessellation.angular_rad == 0.5


@pytest.mark.parametrize("name", ["featuretype.STEP", "base_interface_AP203.igs"])
def test_larger_thumbnails_of_a_brep_model_draw_more_triangles_up_to_a_conversions(
    name: str, tmp_path: Path
) -> None:
    counts = [
        thumbnail(FIXTURES / name, tmp_path, width=side, height=side).result["triangle_count"]
        for side in (64, 256, 800)
    ]
    converted = len(from_scene(load_scene(FIXTURES / name, detect_format(FIXTURES / name))))

    assert counts == sorted(counts)
    assert 0 < counts[0] < counts[-1] < converted


def outcome(load: Callable[[], Triangles]) -> tuple[object, ...]:
    """What loading gives: the triangles with their colours, or the reason it refuses."""
    try:
        triangles = load()
    except InvalidInput as exc:
        return ("refused", str(exc))
    return ("drawn", triangles.corners.tolist(), np.asarray(triangles.colours).tolist())


def assert_read_as_trimesh_reads(source: Path, fast: bool) -> None:
    fmt = detect_format(source)

    direct = read_simple_mesh(source, fmt)

    assert (direct is not None) is fast
    through_trimesh = outcome(lambda: from_scene(load_scene(source, fmt)))
    assert outcome(lambda: load_triangles(source, fmt)) == through_trimesh


@pytest.mark.parametrize("name", ["bunny.ply", "ballA.off"])
def test_plain_ply_and_off_fixtures_are_read_directly_as_trimesh_reads_them(name: str) -> None:
    assert_read_as_trimesh_reads(FIXTURES / name, fast=True)


PLY_HEADER = "ply\nformat ascii 1.0\n"
XYZ = "property float x\nproperty float y\nproperty float z\n"
TRIANGLES = "element face 2\nproperty list uchar int vertex_indices\nend_header\n"
CORNERS = "0 0 0\n1 0 0\n0 1 0\n0 0 1\n"
FACES = "3 0 1 2\n3 0 3 1\n"
PLAIN_PLY = PLY_HEADER + "element vertex 4\n" + XYZ + TRIANGLES + CORNERS + FACES


@pytest.mark.parametrize(
    ("text", "fast"),
    [
        (PLAIN_PLY, True),
        (PLAIN_PLY.replace("\n", "\r\n"), True),
        (PLAIN_PLY + "\n\n", True),  # blank lines after the data
        (PLAIN_PLY.replace("1.0\n", "1.0\ncomment by hand\nobj_info x\n"), True),
        (PLAIN_PLY.replace("float", "double"), True),
        (PLAIN_PLY.replace("0 1 0\n", "0 0.1e1 0\n").replace("0 0 1\n", "-.5 +2.5 1E-3\n"), True),
        (PLAIN_PLY.replace("vertex_indices", "vertex_index").replace(" int ", " uint "), True),
        (  # extra scalar properties, and the coordinates in another order
            PLY_HEADER
            + "element vertex 4\nproperty float z\nproperty uchar flag\nproperty float x\n"
            + "property float y\nproperty float nx\n"
            + TRIANGLES
            + "0 1 0 0 5\n0 0 1 0 5\n0 0 0 1 5\n1 9 0 0 5\n"
            + FACES,
            True,
        ),
        (  # coordinates beyond float32's precision are rounded as trimesh rounds them
            PLAIN_PLY.replace("1 0 0\n", "1.000000001 0.1 1e-9\n"),
            True,
        ),
        (  # vertex colours, which trimesh draws
            PLY_HEADER
            + "element vertex 4\n"
            + XYZ
            + "property uchar red\nproperty uchar green\nproperty uchar blue\n"
            + TRIANGLES
            + "0 0 0 255 0 0\n1 0 0 255 0 0\n0 1 0 0 255 0\n0 0 1 0 0 255\n"
            + FACES,
            False,
        ),
        (PLAIN_PLY.replace("3 0 3 1\n", "4 0 3 1 2\n"), False),  # a quad
        (PLAIN_PLY.replace("0 1 0\n0 0 1\n", "0 1 0\n\n0 0 1\n"), False),  # a blank line
        (PLAIN_PLY.replace("0 0 1\n", "0 0 1 7\n"), False),  # a number too many
        (PLAIN_PLY.replace("0 0 1\n", "nan 0 1\n"), False),
        (PLAIN_PLY.replace("0 0 1\n", "0 0 1e39\n"), False),  # infinite as a float32
        (PLAIN_PLY.replace("3 0 3 1\n", "3 0 3 -1\n"), False),
        (PLAIN_PLY.replace("3 0 3 1\n", "3 0 3 4\n"), False),  # no vertex 4
        (PLAIN_PLY.replace("3 0 3 1\n", "3 0 3 1.0\n"), False),
        (PLAIN_PLY.replace("3 0 3 1\n", "3 0 3 99999999999999999999\n"), False),
        (PLAIN_PLY.replace("face 2", "face 3"), False),  # a face missing
        (PLAIN_PLY.replace("face 2", "face 0"), False),
        (PLAIN_PLY.replace("vertex 4", "vertex 4000000000000"), False),
        (PLAIN_PLY.replace("1.0\n", "1.0\ncomment TextureFile duck.png\n"), False),
        (PLAIN_PLY.replace("1.0\n", "1.0\ncomment end_header\n"), False),
        (PLAIN_PLY.replace("end_header", "element edge 0\nend_header"), False),
        (PLAIN_PLY.replace("property float y", "property float x"), False),
        (PLAIN_PLY.replace("ascii", "binary_little_endian"), False),
    ],
)
def test_a_ply_is_read_directly_only_when_plain_and_always_as_trimesh_reads_it(
    text: str, fast: bool, tmp_path: Path
) -> None:
    source = tmp_path / "model.ply"
    source.write_bytes(text.encode())

    assert_read_as_trimesh_reads(source, fast)


PLAIN_OFF = "OFF\n4 2 0\n" + CORNERS + FACES


@pytest.mark.parametrize(
    ("text", "fast"),
    [
        (PLAIN_OFF, True),
        (PLAIN_OFF.replace("\n", "\r\n"), True),
        (PLAIN_OFF.replace("\n", "\n\n"), True),  # trimesh skips blank lines too
        (PLAIN_OFF.replace("0 1 0\n", "0\t1e0  .0\n"), True),
        (PLAIN_OFF.replace("0 1 0\n", "0 1 0 # a comment\n"), False),
        (PLAIN_OFF.replace("3 0 3 1\n", "4 0 3 1 2\n"), False),  # a quad
        (PLAIN_OFF.replace("0 0 1\n", "0 0 1 200 10 10\n"), False),  # a colour
        (PLAIN_OFF.replace("4 2 0\n", "4 2\n"), False),
        (PLAIN_OFF.replace("OFF\n4", "OFF 4"), False),
        (PLAIN_OFF.replace("OFF", "COFF"), False),
        (PLAIN_OFF.replace("0 0 1\n", "nan 0 1\n"), False),
        (PLAIN_OFF.replace("3 0 3 1\n", "3 0 3 4\n"), False),  # no vertex 4
        (PLAIN_OFF.replace("3 0 3 1\n", "3 0 3 1.0\n"), False),
        (PLAIN_OFF.replace("3 0 3 1\n", "3 0 3 1\n3 0 1 2\n"), False),  # one face too many
        (PLAIN_OFF.replace("4 2 0", "4 0 0"), False),
        (PLAIN_OFF.replace("4 2 0", "4000000000000 2 0"), False),
    ],
)
def test_an_off_is_read_directly_only_when_plain_and_always_as_trimesh_reads_it(
    text: str, fast: bool, tmp_path: Path
) -> None:
    source = tmp_path / "model.off"
    source.write_bytes(text.encode())

    assert_read_as_trimesh_reads(source, fast)
