"""Thumbnails per second: the farm's own renderer against f3d, on the same files at the
same size in one run.

Both sides are timed file → PNG (detect and load, render, encode, write), warm: our
modules imported, f3d's engine created once and reused, and each side given one pass
over the files before the timed ones. Render-only is timed too: ours from the loaded
triangles to the image, f3d's first frame after loading. The sides take turns, file by
file and pass by pass, so that a busy machine slows both alike and the ratio holds.
The files are the 3D CAD fixtures and a 1.3-million-triangle icosphere (written as a
binary STL, which both sides read). f3d comes from the `bench` extra (`pip install -e
".[bench]"`) and draws offscreen through EGL or OSMesa (Mesa's llvmpipe on a machine
without a GPU); when it cannot, the bench stops and says why (`--without-f3d` runs
ours alone).

    python bench/thumbnails.py [--size 256] [--repeat 3] [--out DIR] [--fixtures DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# f3d before anything of the CAD stack: its wheel bundles an OpenSSL newer than the
# system's, and once trimesh's imports have loaded the system one, f3d fails to import
# ("OPENSSL_3.2.0 not found"). Imported here, the comparison always runs when f3d is there.
try:
    import f3d
except ImportError as exc:
    f3d = None
    F3D_MISSING = f"f3d could not be imported ({exc}); pip install -e '.[bench]'"
else:
    F3D_MISSING = ""

import trimesh

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tasks.formats import TWO_D, detect_format  # noqa: E402
from tasks.thumbnail import (  # noqa: E402
    ThumbnailParams,
    draw,
    load_triangles,
    run_thumbnail,
    thumbnail_tessellation,
)
from tasks.thumbnail.framing import is_z_up  # noqa: E402
from tasks.thumbnail.triangles import Triangles  # noqa: E402
from tasks.types import JobContext  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "cad"
ICOSPHERE_SUBDIVISIONS = 8
WHITE = "#ffffff"


@dataclass(frozen=True)
class Timing:
    """Median seconds per thumbnail, file → PNG and render only."""

    total_s: float
    render_s: float


class Renderer:
    """One side of the comparison."""

    name = ""

    def thumbnail(self, source: Path, out_dir: Path) -> Path:
        """Draw `source` into a PNG under `out_dir`; returns its path."""
        raise NotImplementedError

    def render_only_s(self, source: Path) -> float:
        """Seconds to render `source` once it is loaded."""
        raise NotImplementedError


class Ours(Renderer):
    name = "ours"

    def __init__(self, size: int) -> None:
        self.params = ThumbnailParams(width=size, height=size, background=WHITE)

    def thumbnail(self, source: Path, out_dir: Path) -> Path:
        ctx = JobContext(params=self.params, workdir=out_dir, inputs=(source,))
        [png] = run_thumbnail(ctx).outputs
        return png

    def render_only_s(self, source: Path) -> float:
        fmt = detect_format(source)
        triangles = _thumbnail_triangles(source, self.params.width)
        start = time.perf_counter()
        draw(triangles, self.params.width, self.params.height, is_z_up(fmt), WHITE)
        return time.perf_counter() - start


class F3d(Renderer):
    name = "f3d"

    def __init__(self, engine: Any, size: int) -> None:
        self.engine = engine
        engine.window.size = (size, size)
        engine.options["render.background.color"] = [1.0, 1.0, 1.0]

    def thumbnail(self, source: Path, out_dir: Path) -> Path:
        out = out_dir / f"{source.stem}.png"
        self.engine.scene.clear()
        self.engine.scene.add(str(source))
        self.engine.window.render_to_image().save(str(out))
        return out

    def render_only_s(self, source: Path) -> float:
        self.engine.scene.clear()
        self.engine.scene.add(str(source))
        start = time.perf_counter()
        self.engine.window.render_to_image()
        return time.perf_counter() - start


def f3d_engine() -> tuple[Any, str] | str:
    """An offscreen f3d engine and how it draws, or why there is none."""
    if f3d is None:
        return F3D_MISSING
    f3d.Log.set_verbose_level(f3d.Log.VerboseLevel.QUIET)
    f3d.Engine.autoload_plugins()
    tried = []
    for backend, create in (
        ("EGL", f3d.Engine.create_egl),
        ("OSMesa", f3d.Engine.create_osmesa),
        ("offscreen window", lambda: f3d.Engine.create(True)),
    ):
        try:
            return create(), backend
        except Exception as exc:
            tried.append(f"{backend}: {str(exc).strip() or type(exc).__name__}")
    return "f3d could not draw offscreen (" + "; ".join(tried) + ")"


def models(fixtures: Path, scratch: Path) -> list[Path]:
    """The 3D fixtures, then the icosphere written as a binary STL."""
    found = [
        p
        for p in sorted(fixtures.iterdir())
        if p.is_file() and p.suffix.lower() != ".md" and detect_format(p) not in TWO_D
    ]
    sphere = scratch / f"icosphere{ICOSPHERE_SUBDIVISIONS}.stl"
    trimesh.creation.icosphere(subdivisions=ICOSPHERE_SUBDIVISIONS).export(sphere)
    return [*found, sphere]


def timings(
    sides: list[Renderer], files: list[Path], repeat: int, out: Path
) -> dict[str, list[Timing]]:
    """Each side's median file → PNG and render-only seconds per file, after a warm-up
    pass; the sides take turns at every timed run. PNGs go to `out`/<side>."""
    for side in sides:
        (out / side.name).mkdir(parents=True, exist_ok=True)
        for source in files:
            png = side.thumbnail(source, out / side.name)
            png.rename(out / side.name / f"{source.name}.png")
    results: dict[str, list[Timing]] = {side.name: [] for side in sides}
    for source in files:
        totals: dict[str, list[float]] = {side.name: [] for side in sides}
        renders: dict[str, list[float]] = {side.name: [] for side in sides}
        for _ in range(repeat):
            for side in sides:
                totals[side.name].append(_seconds(side.thumbnail, source, out / side.name))
        for _ in range(repeat):
            for side in sides:
                renders[side.name].append(side.render_only_s(source))
        for side in sides:
            timing = Timing(
                statistics.median(totals[side.name]), statistics.median(renders[side.name])
            )
            results[side.name].append(timing)
    return results


def _seconds(work: Callable[[Path, Path], Path], source: Path, out_dir: Path) -> float:
    start = time.perf_counter()
    png = work(source, out_dir)
    seconds = time.perf_counter() - start
    png.unlink()
    return seconds


def report(files: list[Path], results: dict[str, list[Timing]], size: int) -> None:
    """Per file: our triangles at `size`, thumbnails/s, ms file → PNG and ms render only
    for each side, and the ratio of ours to f3d's thumbnails/s; then totals, file → PNG
    and render only."""
    names = list(results)
    compared = "f3d" in results
    header = f"{'file':28}{'tris':>9}" + "".join(
        f"{name + ' /s':>11}{name + ' ms':>9}{'render':>8}" for name in names
    )
    print(header + (f"{'ours/f3d':>10}" if compared else ""))
    for i, source in enumerate(files):
        row = f"{source.name[:27]:28}{len(_thumbnail_triangles(source, size)):>9}"
        for name in names:
            t = results[name][i]
            row += f"{1 / t.total_s:>11.1f}{t.total_s * 1000:>9.1f}{t.render_s * 1000:>8.1f}"
        if compared:
            row += f"{results['f3d'][i].total_s / results['ours'][i].total_s:>10.2f}"
        print(row)
    groups = {
        "fixtures": slice(0, len(files) - 1),
        "icosphere": slice(len(files) - 1, None),
        "all": slice(None),
    }
    for what in ("total_s", "render_s"):
        label = "file → PNG" if what == "total_s" else "render only"
        print(f"thumbnails/s, {label}:")
        for group, part in groups.items():
            rates = {name: _rate(results[name][part], what) for name in names}
            line = f"  {group:35}" + "".join(f"{rates[name]:>11.1f}{'':>17}" for name in names)
            if compared:
                line += f"{rates['ours'] / rates['f3d']:>10.2f}"
            print(line)


def _rate(part: list[Timing], what: str) -> float:
    return len(part) / sum(getattr(t, what) for t in part)


def _thumbnail_triangles(source: Path, size: int) -> Triangles:
    """The triangles a `size`×`size` thumbnail draws (STEP and IGES meshed for that size)."""
    return load_triangles(source, detect_format(source), thumbnail_tessellation(size, size))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--size", type=int, default=256, help="thumbnail side, pixels")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes per file")
    parser.add_argument("--out", type=Path, help="keep both sides' PNGs here")
    parser.add_argument("--fixtures", type=Path, default=FIXTURES, help="folder of models")
    parser.add_argument(
        "--without-f3d", action="store_true", help="run our side alone when f3d can't draw"
    )
    args = parser.parse_args()
    if f3d is None and not args.without_f3d:
        sys.exit(f"{F3D_MISSING}: no baseline, so no comparison (--without-f3d runs ours alone)")

    with tempfile.TemporaryDirectory(prefix="jobfarm-thumbs-") as tmp:
        scratch = Path(tmp)
        files = models(args.fixtures, scratch)
        sides: list[Renderer] = [Ours(args.size)]
        engine = f3d_engine()
        if isinstance(engine, str):
            if not args.without_f3d:
                sys.exit(f"{engine}: no baseline, so no comparison (--without-f3d runs ours alone)")
            print(f"{engine}; comparison skipped (--without-f3d)")
        else:
            print(f"f3d draws offscreen through {engine[1]}")
            sides.append(F3d(engine[0], args.size))
        results = timings(sides, files, args.repeat, args.out or scratch)
        print(f"thumbnails at {args.size}×{args.size}, median of {args.repeat}, file → PNG (ms)")
        report(files, results, args.size)
    if args.out:
        print(f"PNGs in {args.out}/ours and {args.out}/f3d")


if __name__ == "__main__":
    main()
