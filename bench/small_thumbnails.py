"""Small thumbnails through the farm against the bare render: how much of a worker's
time the farm's own per-job work takes when the job itself is short.

Farm: one upload (POST /v1/files), then N `thumbnail` jobs of it submitted over HTTP,
each run by a worker (claim, fetch the input, render, store the PNG, mark succeeded in
SQL); timed from the first job's creation to the last one's finish, as SQL records
them, and each job's own time on the worker (its start to its finish). Bare: the same
file → PNG call (`run_thumbnail`) N times in a multiprocessing pool of as many
processes as the worker's concurrency, warm. Same machine, one run. The model is a
20 mm cube (written as a binary STL), drawn at 128×128. The farm's CPU per job, by
process (API, workers, Redis, the bench's own submitters), shows what shares the
machine's cores with the renders.

    python bench/small_thumbnails.py [--jobs 500] [--concurrency 2] [--profile DIR]

--profile records the worker with py-spy during the farm's timed run, and prints where
its pool processes' time went: the render, the rest of each job, waiting for a job.
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import trimesh
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.overhead import CpuMeter, Figures  # noqa: E402
from storage.db import session_scope  # noqa: E402
from storage.models import Job  # noqa: E402
from tests.farm import Farm, RedisServer, wait_until  # noqa: E402

SIDE_PX = 128
CUBE_MM = 20.0
PARAMS = {"width": SIDE_PX, "height": SIDE_PX}
WARM_UP_JOBS = 20
PY_SPY = Path(sys.executable).parent / "py-spy"
# Functions in py-spy's stacks: a pool process's main loop, the job it runs (all of the
# farm's per-job work), and the render within it.
POOL_LOOP = "Worker.workloop"
JOB_FRAME = "fast_trace_task"
RENDER_FRAME = "run_thumbnail"


def write_cube(path: Path) -> Path:
    trimesh.creation.box(extents=(CUBE_MM, CUBE_MM, CUBE_MM)).export(path)
    return path


def farm_run(
    farm: Farm, api_key: str, file_id: str, jobs: int, clients: int
) -> tuple[Figures, list[float]]:
    """`jobs` thumbnails of the uploaded file, submitted by `clients` threads; and each
    job's seconds from its start on a worker to its finish, as SQL records them."""
    local = threading.local()

    def submit(_: int) -> str:
        if not hasattr(local, "http"):
            local.http = requests.Session()
            local.http.headers["Authorization"] = f"Bearer {api_key}"
        body = {"kind": "thumbnail", "params": PARAMS, "input_file_id": file_id}
        response = local.http.post(farm.base_url + "/v1/jobs", json=body, timeout=60)
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    with ThreadPoolExecutor(clients) as pool:
        ids = set(pool.map(submit, range(jobs)))
    wait_until(lambda: all_succeeded(farm.database_url, ids), 900, "the thumbnails", every_s=0.2)
    with session_scope(farm.database_url) as db:
        columns = (Job.created_at, Job.started_at, Job.finished_at)
        rows = db.execute(select(*columns).where(Job.id.in_(ids))).all()
    start = min(r.created_at for r in rows)
    end = max(r.finished_at for r in rows)
    latencies = [(r.finished_at - r.created_at).total_seconds() for r in rows]
    on_worker = [(r.finished_at - r.started_at).total_seconds() for r in rows]
    return Figures("farm", jobs, (end - start).total_seconds(), latencies), on_worker


def all_succeeded(database_url: str, ids: set[str]) -> bool:
    """Whether every job succeeded; a failed or canceled one stops the bench."""
    with session_scope(database_url) as db:
        rows = db.execute(
            select(Job.state, func.count()).where(Job.id.in_(ids)).group_by(Job.state)
        ).all()
    states: dict[str, int] = {state: count for state, count in rows}
    ended_badly = states.get("failed", 0) + states.get("canceled", 0)
    if ended_badly:
        raise SystemExit(f"{ended_badly} thumbnail jobs did not succeed: {states}")
    return states.get("succeeded", 0) == len(ids)


def upload(farm: Farm, api_key: str, source: Path) -> str:
    response = requests.post(
        farm.base_url + "/v1/files",
        params={"name": source.name},
        data=source.read_bytes(),
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def bare_run(source: Path, jobs: int, processes: int) -> Figures:
    """`jobs` calls of the render in a pool of `processes`, each process warmed first."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes, initializer=_warm_render, initargs=(str(source),)) as pool:
        # One task per process first, so that all have finished their warm-up.
        pool.map(_render_once, [str(source)] * processes, chunksize=1)
        start = time.perf_counter()
        latencies = pool.map(_render_once, [str(source)] * jobs, chunksize=1)
        seconds = time.perf_counter() - start
    return Figures("bare", jobs, seconds, latencies)


_workdir: Path | None = None


def _warm_render(source: str) -> None:
    """Import the render stack and draw once, as a farm worker has when it is warm."""
    global _workdir
    sys.path.insert(0, str(ROOT))
    _workdir = Path(tempfile.mkdtemp(prefix="jobfarm-bare-"))
    _render_once(source)


def _render_once(source: str) -> float:
    """One file → PNG; returns its seconds."""
    from tasks.thumbnail import ThumbnailParams, run_thumbnail
    from tasks.types import JobContext

    assert _workdir is not None
    start = time.perf_counter()
    params = ThumbnailParams.model_validate(PARAMS)
    ctx = JobContext(params=params, workdir=_workdir, inputs=(Path(source),))
    for output in run_thumbnail(ctx).outputs:
        output.unlink()
    return time.perf_counter() - start


def start_profile(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy recording process `pid` and its children (the pool's processes), waiting
    included: a pool process blocked on I/O in a job spends the job's time too."""
    argv = [
        str(PY_SPY),
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--idle",
        "--full-filenames",
    ]
    argv += ["--format", "raw", "--rate", "250", "--output", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profile(recorder: subprocess.Popen[bytes]) -> None:
    recorder.send_signal(signal.SIGINT)
    recorder.wait(timeout=60)


def pool_time(collapsed: Path, top: int = 12) -> list[str]:
    """From py-spy's collapsed stacks, the pool processes' time: in the render, in the
    rest of a job (by the project function it was in, else the innermost one), and
    waiting for the next job."""
    render, waiting, farm = 0, 0, Counter[str]()
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        names = {frame.split(" (")[0] for frame in frames}
        if POOL_LOOP not in names:
            continue  # the consumer process, or a pool process's other threads
        if RENDER_FRAME in names:
            render += int(count)
        elif JOB_FRAME in names:
            farm[_blamed_frame(frames)] += int(count)
        else:
            waiting += int(count)
    total = render + waiting + sum(farm.values())
    if total == 0:
        return ["py-spy recorded nothing of the pool's processes"]
    lines = [
        f"pool processes' time ({total} samples): render {render / total:.0%},"
        f" rest of the job {sum(farm.values()) / total:.0%},"
        f" waiting for a job {waiting / total:.0%}",
        "rest of the job, by function:",
    ]
    lines += [f"  {n / total:6.1%}  {frame}" for frame, n in farm.most_common(top)]
    return lines


def _blamed_frame(frames: list[str]) -> str:
    """The innermost frame in the project's own code, else the innermost of all; file
    names shortened to the project's, or the library's, path."""
    own = [f for f in frames if f"({ROOT}/" in f and "/site-packages/" not in f]
    frame = own[-1] if own else frames[-1]
    return frame.replace(f"{ROOT}/", "").split("/site-packages/")[-1].replace("(/", "(")


def main() -> None:
    # Turn SIGTERM (e.g. from `timeout`) into an exit, so the farm's processes are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes, both sides")
    parser.add_argument("--clients", type=int, default=8, help="concurrent submitters")
    parser.add_argument("--database-url", help="the farm's database (default: SQLite)")
    parser.add_argument("--profile", type=Path, help="record the worker with py-spy into DIR")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="jobfarm-bench-") as tmp:
        root = Path(tmp)
        cube = write_cube(root / "cube-20mm.stl")
        farm, profile = run_farm_side(root, cube, args)
        bare = bare_run(cube, args.jobs, args.concurrency)
        report(farm, bare, args)
        if profile:
            print("\n".join(pool_time(profile)))


def run_farm_side(
    root: Path, cube: Path, args: argparse.Namespace
) -> tuple[tuple[Figures, list[float]], Path | None]:
    server = RedisServer(root / "redis")
    server.start()
    farm = Farm(root / "farm", server.url, args.database_url, log_level="WARNING")
    try:
        farm.migrate()
        farm.start_web()
        worker = farm.start_worker("long", concurrency=args.concurrency)
        key = farm.create_key("bench").api_key
        file_id = upload(farm, key, cube)
        farm_run(farm, key, file_id, WARM_UP_JOBS, args.clients)  # imports, connections
        profile = None
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            profile = args.profile / "worker.collapsed.txt"
            recorder = start_profile(farm.processes[worker].pid, profile)
            time.sleep(1)  # py-spy attached before the first job
        assert server.process is not None
        pids = {name: p.pid for name, p in farm.processes.items()}
        with CpuMeter({**pids, "redis": server.process.pid}) as cpu:
            figures = farm_run(farm, key, file_id, args.jobs, args.clients)
        if args.profile:
            stop_profile(recorder)
        print(cpu.line("farm", args.jobs))
        return figures, profile
    finally:
        farm.stop_all()
        server.stop()


def report(farm_side: tuple[Figures, list[float]], bare: Figures, args: argparse.Namespace) -> None:
    farm, on_worker = farm_side
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"small thumbnails: {args.jobs} jobs of a {CUBE_MM:g} mm cube at {SIDE_PX}×{SIDE_PX},"
        f" {args.concurrency} processes each side, {database}, embedded Redis"
    )
    print(farm.line())
    print(
        f"{'bare':11} {bare.jobs} jobs in {bare.seconds:6.2f} s = {bare.rate:6.1f} jobs/s;"
        f" render p50 {_median(bare.latencies_s) * 1000:7.1f} ms"
    )
    print(
        f"{'':11} a farm job from its start on a worker to its finish (input, render,"
        f" output, SQL): p50 {_median(on_worker) * 1000:.1f} ms"
    )
    slot_ms = {f.name: args.concurrency * f.seconds / f.jobs * 1000 for f in (farm, bare)}
    print(
        f"per job on a worker process: farm {slot_ms['farm']:.1f} ms, bare {slot_ms['bare']:.1f}"
        f" ms, so {slot_ms['farm'] - slot_ms['bare']:.1f} ms of the farm's own"
    )
    print(f"ratio farm/bare throughput: {farm.rate / bare.rate:.2f} (target ≥ 0.8)")


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


if __name__ == "__main__":
    main()
