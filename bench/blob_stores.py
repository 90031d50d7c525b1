"""Conversion throughput through the farm with its blobs in S3 object storage against
the same farm with blobs in its local directory (the baseline), in one run.

Each farm: API, one long worker, embedded Redis, SQLite. Its files are uploaded once
(POST /v1/files); then N `convert` jobs (→ GLB) of them are submitted over HTTP and
timed from the first job's creation to the last one's finish as SQL records them.
On S3 the worker fetches each input from the bucket and uploads each output to it;
locally it copies and renames files. The S3 server is SeaweedFS (`weed`, from the dev
extra) on this machine, so the ratio is the farm's own cost of object storage, not a
network's. The sides run in turns (local, S3, local, S3), each figure their median.

    python bench/blob_stores.py [--jobs 200] [--concurrency 2] [--turns 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage.db import session_scope  # noqa: E402
from storage.models import Job  # noqa: E402
from tests.farm import Farm, RedisServer, wait_until  # noqa: E402
from tests.s3 import SeaweedS3, why_weed_cannot_run  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "cad"
FILES = ("fuze.obj", "featuretype.STL", "bunny.ply", "Duck.glb")


def run_farm(root: Path, settings: dict[str, str], jobs: int, concurrency: int) -> float:
    """Jobs per second of `jobs` conversions on a fresh farm with `settings`."""
    server = RedisServer(root / "redis")
    server.start()
    farm = Farm(root / "farm", server.url, None, log_level="WARNING", **settings)
    try:
        farm.migrate()
        farm.start_web()
        farm.start_worker("long", concurrency=concurrency)
        api = farm.client(farm.create_key("bench").api_key)
        file_ids = [upload(api, FIXTURES / name) for name in FILES]
        convert(farm, api, file_ids, 2 * len(file_ids))  # warm-up: imports, pools
        return convert(farm, api, file_ids, jobs)
    finally:
        farm.stop_all()
        server.stop()


def upload(api, path: Path) -> str:  # type: ignore[no-untyped-def]
    answer = api.post("/v1/files", params={"name": path.name}, data=path.read_bytes())
    answer.raise_for_status()
    return str(answer.json()["id"])


def convert(farm: Farm, api, file_ids: list[str], jobs: int) -> float:  # type: ignore[no-untyped-def]
    ids = [
        api.submit("convert", input_file_id=file_ids[i % len(file_ids)])["id"] for i in range(jobs)
    ]
    wait_until(lambda: finished(farm, ids) == len(ids), 600, f"{jobs} conversions", every_s=0.5)
    with session_scope(farm.database_url) as db:
        began, ended, ok = db.execute(
            select(
                func.min(Job.created_at),
                func.max(Job.finished_at),
                func.count().filter(Job.state == "succeeded"),
            ).where(Job.id.in_(ids))
        ).one()
    assert ok == len(ids), f"only {ok} of {len(ids)} conversions succeeded"
    return len(ids) / (ended - began).total_seconds()


def finished(farm: Farm, ids: list[str]) -> int:
    with session_scope(farm.database_url) as db:
        stmt = select(func.count()).where(Job.id.in_(ids), Job.finished_at.is_not(None))
        return int(db.scalar(stmt) or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--turns", type=int, default=2)
    args = parser.parse_args()
    why = why_weed_cannot_run()
    if why:
        sys.exit(f"no S3 server to compare with: {why}")
    rates: dict[str, list[float]] = {"local": [], "s3": []}
    with tempfile.TemporaryDirectory(prefix="jobfarm-bench-") as tmp:
        root = Path(tmp)
        s3 = SeaweedS3(root / "seaweedfs")
        s3.start()
        try:
            for turn in range(args.turns):
                for side in ("local", "s3"):
                    settings = s3.settings(s3.new_bucket()) if side == "s3" else {}
                    where = root / f"{side}-{turn}"
                    rates[side].append(run_farm(where, settings, args.jobs, args.concurrency))
        finally:
            s3.stop()
    local, remote = (statistics.median(rates[side]) for side in ("local", "s3"))
    print(
        f"convert → GLB through the farm: {args.jobs} jobs × {args.turns} turns, "
        f"worker concurrency {args.concurrency}, files {', '.join(FILES)}"
    )
    print(f"local blobs  {local:6.1f} jobs/s  (turns: {rates['local']})")
    print(f"S3 blobs     {remote:6.1f} jobs/s  (turns: {rates['s3']})")
    print(f"ratio S3/local throughput: {remote / local:.2f}")


if __name__ == "__main__":
    main()
