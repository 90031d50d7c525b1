"""The soak: a long run of the chaos tier's load under faults that leave every farm
process alive (the receiver gone or failing, the disk full, Redis started empty,
PostgreSQL crashed), so that each process's memory can be followed from start to end.

Run by hand, as long as you like (it skips unless told how many jobs):

    JOBFARM_SOAK_JOBS=10000 .venv/bin/pytest tests/chaos/test_soak.py -s

Every check of the chaos tier holds at the end, no farm process has died, and each
role's resident memory (its process with its pool, summed) stays within 15 % of its
level after the first 1,000 jobs: the median of its samples over jobs 1,000 to 2,000
against the median over the last 1,000 jobs and the drain.
"""

from __future__ import annotations

import os
import statistics
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from tests.chaos.conftest import ChaosFarm
from tests.chaos.faults import GENTLE_WEIGHTS, FaultLog
from tests.chaos.load import Load
from tests.chaos.run import DRAIN_S, Plan, env_int, publish, run_under_faults

JOBS = env_int("JOBFARM_SOAK_JOBS", 0)
# Submissions per second: below what the mix's heavier kinds let one 2-core machine
# finish (about 6 a second), so that the run is steady, not a backlog piling up.
RATE = float(os.environ.get("JOBFARM_SOAK_RATE") or 5)
WARM_JOBS = 1000  # the level is taken after these, over the next as many
GROWTH_ALLOWED = 0.15
SAMPLE_S = 2.0


def tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants, in KiB."""
    root = psutil.Process(pid)
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue  # a pool process replaced between the listing and the reading
    return total // 1024


@dataclass
class MemorySampler:
    """Every role's memory every SAMPLE_S, each sample tagged with the jobs submitted."""

    pids: dict[str, int]
    samples: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    stopped: threading.Event = field(default_factory=threading.Event)

    def follow(self, load: Load) -> None:
        threading.Thread(target=self._run, args=(load,), daemon=True).start()

    def _run(self, load: Load) -> None:
        while not self.stopped.wait(SAMPLE_S):
            submitted = len(load.accepted)
            for role, pid in self.pids.items():
                try:
                    self.samples[role].append((submitted, tree_rss_kib(pid)))
                except psutil.NoSuchProcess:
                    continue  # the check on the pids says which one died

    def levels(self, jobs: int) -> dict[str, dict[str, float]]:
        """Per role: the median KiB over jobs WARM_JOBS..2*WARM_JOBS, over the last
        WARM_JOBS and the drain, their ratio, and the highest sample."""
        figures = {}
        for role, samples in sorted(self.samples.items()):
            warm = [kib for n, kib in samples if WARM_JOBS <= n < 2 * WARM_JOBS]
            late = [kib for n, kib in samples if n >= jobs - WARM_JOBS]
            after, end = statistics.median(warm), statistics.median(late)
            figures[role] = {
                "after_first_1000_kib": after,
                "at_end_kib": end,
                "ratio": round(end / after, 3),
                "highest_kib": max(kib for _, kib in samples),
            }
        return figures


@pytest.mark.skipif(JOBS == 0, reason="the soak runs by hand: JOBFARM_SOAK_JOBS=10000")
@pytest.mark.timeout(int(3 * max(JOBS, 1) / RATE + 2 * DRAIN_S))
def test_a_long_run_ends_every_job_and_no_role_grows(chaos_farm: ChaosFarm, tmp_path: Path) -> None:
    assert JOBS >= 3 * WARM_JOBS, "the soak needs its warm-up, its level and an end apart"
    farm = chaos_farm.farm
    pids = {name: process.pid for name, process in farm.processes.items()}
    sampler = MemorySampler(pids)
    plan = Plan(
        jobs=JOBS,
        rate=RATE,
        faults=env_int("JOBFARM_SOAK_FAULTS", 50),
        weights=GENTLE_WEIGHTS,
        gap_s=(2.0, 8.0),
    )
    try:
        report = run_under_faults(
            chaos_farm, plan, FaultLog(tmp_path / "faults.jsonl"), watch=sampler.follow
        )
    finally:
        sampler.stopped.set()
    died = [name for name, process in farm.processes.items() if process.pid != pids.get(name)]
    died += [name for name, pid in pids.items() if not psutil.pid_exists(pid)]
    report["memory"] = sampler.levels(JOBS)
    publish(report)
    assert not died, f"farm processes died during the soak: {died}"
    grown = {
        role: figures
        for role, figures in report["memory"].items()
        if figures["ratio"] > 1 + GROWTH_ALLOWED
    }
    assert not grown, f"resident memory grew past {GROWTH_ALLOWED:.0%}: {grown}"
