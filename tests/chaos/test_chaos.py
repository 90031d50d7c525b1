"""Faults under a mixed load, and what must hold after them all.

The driver (seeded: JOBFARM_CHAOS_SEED replays a run; its faults are logged as JSON
lines) SIGKILLs worker pool processes, whole workers, the API and beat, kills Redis and
starts it empty, crashes PostgreSQL, fills the blob disk and takes the receiver away,
while clients submit JOBFARM_CHAOS_JOBS jobs (default 2,000). Then, once the faults
stop, every accepted job must end, and:

- every succeeded job has one output set, each output served whole (its checksum, and
  the file opens: a GLB with triangles, a PNG that is not blank, a video with frames);
- every final job has exactly one final event at the receiver (one `webhook-id`; the
  same one more than once is at-least-once delivery, counted, not an effect), verified
  with `standardwebhooks`, and no event contradicting its final state;
- every tenant's credit balance equals its ledger, and each video was reserved once
  and then charged or refunded once;
- no job is left `running`.

The figures of the run are printed and, with JOBFARM_CHAOS_REPORT, written as JSON.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.conftest import ChaosFarm
from tests.chaos.faults import FaultLog
from tests.chaos.run import DRAIN_S, Plan, env_int, run_under_faults

# Submissions a second, from four clients: below what two slots finish, so that the
# backlog stays short and the faults, not the queue, decide how long jobs take.
RATE = 6.0
JOBS = env_int("JOBFARM_CHAOS_JOBS", 2000)


# The submissions' time thrice over, and the drains'.
@pytest.mark.timeout(int(3 * JOBS / RATE + 2 * DRAIN_S))
def test_under_faults_every_accepted_job_ends_with_its_effects_once(
    chaos_farm: ChaosFarm, tmp_path: Path
) -> None:
    plan = Plan(jobs=JOBS, rate=RATE, faults=env_int("JOBFARM_CHAOS_FAULTS", 200))
    run_under_faults(chaos_farm, plan, FaultLog(tmp_path / "faults.jsonl"))
