"""Conversion cost: the farm's `run_convert` against bare trimesh, per 3D fixture.

Ours: `run_convert` on a JobContext, the work a worker does for a convert job
(detect the format, load, check, measure, export GLB, write it). Bare: the same
file through `trimesh.load(path)` and `export(file_type="glb")`, and nothing
else; for IGES, which trimesh cannot read, cascadio's GLB loaded by trimesh and
exported. Besides the fixtures, a big mesh: an icosphere of 7 subdivisions
(327,680 triangles) as a binary STL and as an OBJ. One process, one run; each
figure is the median of --repeat timings after a warm-up, ours and bare
alternating. OpenCASCADE's own messages on stdout are silenced while timing.

    python bench/convert.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cascadio
import trimesh

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tasks.convert import ConvertParams, run_convert  # noqa: E402
from tasks.formats import CadFormat, detect_format  # noqa: E402
from tasks.types import JobContext  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "cad"
BIG_SUBDIVISIONS = 7


@dataclass(frozen=True)
class Timing:
    name: str
    ours_ms: float
    bare_ms: float

    def line(self) -> str:
        ratio = self.bare_ms / self.ours_ms
        figures = f"ours {self.ours_ms:8.1f} ms  bare {self.bare_ms:8.1f} ms"
        return f"{self.name:28} {figures}  bare/ours {ratio:4.2f}"


def models() -> list[Path]:
    """Every 3D fixture beside the tests (not the bad ones, not the 2D drawings)."""
    return sorted(p for p in FIXTURES.glob("*.*") if p.suffix.lower() != ".md")


def big_meshes(directory: Path) -> list[Path]:
    """The big icosphere as a binary STL, and as an OBJ for the OBJ face scan."""
    sphere = trimesh.creation.icosphere(subdivisions=BIG_SUBDIVISIONS)
    stl, obj = (directory / f"icosphere-{BIG_SUBDIVISIONS}.{ext}" for ext in ("stl", "obj"))
    stl.write_bytes(sphere.export(file_type="stl"))
    obj.write_text(sphere.export(file_type="obj"))
    return [stl, obj]


def ours(source: Path, workdir: Path) -> None:
    run_convert(JobContext(params=ConvertParams(), workdir=workdir, inputs=(source,)))


def bare(source: Path, workdir: Path) -> None:
    loaded: Any
    if detect_format(source) is CadFormat.IGES:
        glb = cascadio.load(source.read_bytes(), file_type="iges")
        loaded = trimesh.load(io.BytesIO(glb), file_type="glb")
    else:
        loaded = trimesh.load(source)  # as a user would call it, whatever it returns
    (workdir / "bare.glb").write_bytes(loaded.export(file_type="glb"))


def elapsed_ms(run: Callable[[Path, Path], None], source: Path, workdir: Path) -> float:
    start = time.perf_counter()
    run(source, workdir)
    return (time.perf_counter() - start) * 1000


def time_file(source: Path, workdir: Path, repeat: int) -> Timing:
    ours(source, workdir)  # warm-up: imports, caches
    bare(source, workdir)
    ours_ms, bare_ms = [], []
    for _ in range(repeat):
        ours_ms.append(elapsed_ms(ours, source, workdir))
        bare_ms.append(elapsed_ms(bare, source, workdir))
    return Timing(source.name, statistics.median(ours_ms), statistics.median(bare_ms))


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null: OpenCASCADE writes there from C++."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "wb") as null:
        os.dup2(null.fileno(), 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timings per file and side")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="jobfarm-bench-convert-") as tmp:
        workdir = Path(tmp)
        sources = [*models(), *big_meshes(workdir)]
        with quiet_stdout():
            timings = [time_file(source, workdir, args.repeat) for source in sources]

    print(
        f"convert: {len(timings)} files, median of {args.repeat} runs each;"
        " bare/ours above 1 means ours is faster"
    )
    for timing in timings:
        print(timing.line())
    total = Timing("total", sum(t.ours_ms for t in timings), sum(t.bare_ms for t in timings))
    print(total.line())


if __name__ == "__main__":
    main()
