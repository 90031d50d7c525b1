"""Run directories left behind by runs that were killed (a cancel's SIGKILL, a worker
lost): found and removed by the workers of the same host, after their own jobs."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from sqlalchemy import select

from storage.db import read_scope
from storage.models import Job
from storage.states import JobState

log = logging.getLogger(__name__)

_last_sweep = 0.0


def live_runs(sql_url: str, names: list[str]) -> set[str]:
    """Which of the run directory names (`<job id>.<run token>`) belong to runs that
    still hold their job."""
    wanted = {name.partition(".")[0]: name for name in names}
    with read_scope(sql_url) as session:
        rows = session.execute(
            select(Job.id, Job.run_token).where(Job.id.in_(wanted), Job.state == JobState.RUNNING)
        ).all()
    return {f"{job_id}.{token}" for job_id, token in rows}


def sweep_abandoned(work_dir: Path, sql_url: str, keep: str, every_s: float) -> int:
    """Remove the run directories under `work_dir` whose runs no longer hold their job
    (never `keep`, the caller's own); at most once every `every_s` seconds per process.
    Returns how many went."""
    global _last_sweep
    now = time.monotonic()
    if now - _last_sweep < every_s or not work_dir.is_dir():
        return 0
    _last_sweep = now
    names = [p.name for p in work_dir.iterdir() if p.is_dir() and p.name != keep]
    if not names:
        return 0
    live = live_runs(sql_url, names)
    gone = [name for name in names if name not in live]
    for name in gone:
        shutil.rmtree(work_dir / name, ignore_errors=True)
    if gone:
        log.info("removed %d abandoned run directories", len(gone))
    return len(gone)
