"""A model as plain triangles to draw: each triangle's corners, placed in the world, and
its colour. Made from a loaded scene or an uncoloured indexed mesh, or read straight from
a binary STL's bytes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import trimesh
from trimesh.visual import ColorVisuals, TextureVisuals

from tasks.errors import InvalidInput
from tasks.formats import STL_HEADER_BYTES, STL_TRIANGLE_BYTES

# A neutral blue-grey for models that carry no colour of their own.
PRODUCT_GREY = (172, 182, 196)
# Where the corners lie in each triangle's record: after its normal (three float32),
# before its attribute count (a uint16).
STL_CORNERS = slice(12, 48)
STL_CHUNK_TRIANGLES = 1 << 14


@dataclass(frozen=True)
class Triangles:
    """`corners` (n, 3, 3): each triangle's corners in world space; `colours` (n, 3):
    each one's sRGB colour."""

    corners: npt.NDArray[np.float32]
    colours: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return len(self.corners)


def is_binary_stl(source: Path) -> bool:
    """Whether the file's size is exactly that of a binary STL with the triangle count
    its header states."""
    size = source.stat().st_size
    if size < STL_HEADER_BYTES:
        return False
    with source.open("rb") as f:
        count = int.from_bytes(f.read(STL_HEADER_BYTES)[80:], "little")
    return size == STL_HEADER_BYTES + STL_TRIANGLE_BYTES * count


def read_binary_stl(source: Path) -> Triangles:
    """A binary STL's triangles as they are stored (no vertex merging, which drawing
    does not need); `InvalidInput` if it holds none, or coordinates that are not finite."""
    count = (source.stat().st_size - STL_HEADER_BYTES) // STL_TRIANGLE_BYTES
    if count <= 0:
        raise InvalidInput("the stl file holds no triangles")
    corners = _stl_corners(source, count)
    # A NaN or an infinity anywhere shows in the bounds, which cost less to find.
    if not (np.isfinite(corners.min()) and np.isfinite(corners.max())):
        raise InvalidInput("the stl file has vertices that are not finite numbers")
    return Triangles(corners, _uniform(PRODUCT_GREY, len(corners)))


def _stl_corners(source: Path, count: int) -> npt.NDArray[np.float32]:
    """The corners of the file's `count` triangles, (count, 3, 3). Records are read a
    chunk at a time and only their corners kept, copied as bytes while the chunk is in
    the processor's caches: several times faster than the unaligned floats of a
    structured array, and the whole file is never held twice."""
    corners = np.empty((count, STL_CORNERS.stop - STL_CORNERS.start), dtype=np.uint8)
    chunk = np.empty((min(count, STL_CHUNK_TRIANGLES), STL_TRIANGLE_BYTES), dtype=np.uint8)
    with source.open("rb", buffering=0) as f:
        f.seek(STL_HEADER_BYTES)
        for first in range(0, count, len(chunk)):
            records = chunk[: count - first]
            if f.readinto(records.reshape(-1).data) != records.nbytes:
                raise InvalidInput("the stl file is shorter than its header says")
            corners[first : first + len(records)] = records[:, STL_CORNERS]
    return corners.view("<f4").reshape(-1, 3, 3)


def from_scene(scene: trimesh.Scene) -> Triangles:
    """Every mesh instance of the scene, placed by its transform, with its colours."""
    corners, colours = [], []
    for node in scene.graph.nodes_geometry:
        transform, name = scene.graph[node]
        mesh = scene.geometry[name]
        if isinstance(mesh, trimesh.Trimesh) and len(mesh.faces):
            placed = mesh.vertices @ transform[:3, :3].T + transform[:3, 3]
            corners.append(placed[mesh.faces])
            colours.append(face_colours(mesh))
    return Triangles(_centred(np.concatenate(corners)), np.concatenate(colours))


def from_indexed(vertices: npt.NDArray[np.float64], faces: npt.NDArray[np.int64]) -> Triangles:
    """The triangles of a mesh that carries no colour: `faces` (n, 3) index `vertices`."""
    return Triangles(_centred(vertices[faces]), _uniform(PRODUCT_GREY, len(faces)))


def _centred(corners: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    # Centred in double precision, so that float32 keeps the detail of a model far from
    # its origin.
    axes = corners.reshape(-1, 3).T
    # Axis by axis: numpy reduces across a short axis many times slower.
    low = np.array([axis.min() for axis in axes])
    high = np.array([axis.max() for axis in axes])
    return (corners - (low + high) / 2).astype(np.float32)


def face_colours(mesh: trimesh.Trimesh) -> npt.NDArray[np.uint8]:
    """The mesh's colour per face: its own (face or vertex colours, a texture sampled at
    the vertices, a material's colour) or else `PRODUCT_GREY`."""
    visual = mesh.visual
    count = len(mesh.faces)
    if isinstance(visual, TextureVisuals):
        visual = visual.to_color()
    if not isinstance(visual, ColorVisuals) or visual.kind is None:
        return _uniform(PRODUCT_GREY, count)
    if visual.kind == "face":
        return np.asarray(visual.face_colors)[:, :3]
    per_vertex = np.asarray(visual.vertex_colors)
    if per_vertex.ndim == 1:  # one colour for the whole mesh
        return _uniform(per_vertex[:3], count)
    corners = per_vertex[mesh.faces, :3].astype(np.float64)
    return ((corners[:, 0] + corners[:, 1] + corners[:, 2]) / 3).astype(np.uint8)


def _uniform(colour: npt.ArrayLike, count: int) -> npt.NDArray[np.uint8]:
    return np.broadcast_to(np.asarray(colour, dtype=np.uint8), (count, 3))
