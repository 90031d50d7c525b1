"""One run of the chaos tier: clients submit the load while the driver injects faults;
once both are over, every accepted job must end and every check must hold. The figures
come back as the run's report (printed, and written as JSON to JOBFARM_CHAOS_REPORT)."""

from __future__ import annotations

import json
import os
import random
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.chaos.conftest import ChaosFarm
from tests.chaos.faults import WEIGHTS, Chaos, FaultLog
from tests.chaos.invariants import (
    FINAL,
    check_credits,
    check_events,
    check_outputs,
    job_rows,
    missing_final_events,
    states_by_kind,
    still_running,
    unfinished,
)
from tests.chaos.load import Load
from tests.farm import wait_until

DRAIN_S = 420


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


@dataclass(frozen=True)
class Plan:
    """What a run submits and what it injects meanwhile."""

    jobs: int
    rate: float  # submissions a second, from four clients
    faults: int  # at least this many, however fast the jobs go
    seed: int = field(default_factory=lambda: env_int("JOBFARM_CHAOS_SEED", fresh_seed()))
    weights: dict[str, int] = field(default_factory=lambda: dict(WEIGHTS))
    gap_s: tuple[float, float] = (0.1, 0.6)  # between one fault's heal and the next


def fresh_seed() -> int:
    return random.SystemRandom().randrange(2**31)


def run_under_faults(
    chaos_farm: ChaosFarm,
    plan: Plan,
    log: FaultLog,
    watch: Callable[[Load], None] | None = None,
) -> dict[str, Any]:
    """Submit `plan.jobs` jobs under faults, drain, check every invariant (failing on
    the first broken one) and return the figures, published before the last checks.
    `watch(load)` runs once the clients have started, for a caller that samples the
    farm as it goes."""
    print(f"chaos seed {plan.seed}: {plan.jobs} jobs, at least {plan.faults} faults, {log.path}")
    farm = chaos_farm.farm
    callback = chaos_farm.receiver.url
    load = Load(farm.base_url, chaos_farm.clients, callback, plan.seed, plan.jobs, plan.rate)
    chaos = Chaos(
        farm,
        chaos_farm.cluster,
        chaos_farm.redis_server,
        chaos_farm.receiver,
        chaos_farm.blob_dir,
        random.Random(plan.seed),
        log,
        weights=plan.weights,
        gap_s=plan.gap_s,
    )
    submitting = threading.Thread(target=load.run, daemon=True)
    began = time.monotonic()
    submitting.start()
    if watch is not None:
        watch(load)
    chaos.run(done=load.finished.is_set, at_least=plan.faults)
    submitting.join(timeout=60)
    faults_over = time.monotonic()

    assert load.error is None, f"the clients stopped: {load.error!r}"
    accepted = {a.job_id: a for a in load.accepted}
    assert len(accepted) == len(load.accepted) == plan.jobs, "a submission was lost or doubled"
    try:
        wait_until(lambda: not unfinished(farm.database_url, accepted), DRAIN_S, "every job to end")
    except AssertionError:
        left = unfinished(farm.database_url, accepted)
        rows = job_rows(farm.database_url, left)
        seen = Counter(
            (accepted[i].kind, rows[i]["state"], rows[i]["error_code"]) for i in left if i in rows
        )
        raise AssertionError(
            f"{len(left)} jobs unfinished {DRAIN_S} s after the faults, by (kind, state, last"
            f" error): {dict(seen.most_common(10))}; blob disk free:"
            f" {shutil.disk_usage(chaos_farm.blob_dir).free} bytes"
        ) from None
    ended = time.monotonic()
    rows = job_rows(farm.database_url, list(accepted))
    wait_until(
        lambda: not missing_final_events(chaos_farm, accepted, rows),
        DRAIN_S,
        "every final event at the receiver",
    )
    delivered = time.monotonic()

    report: dict[str, Any] = {
        "seed": plan.seed,
        "jobs": plan.jobs,
        "faults": log.total,
        "faults_by_kind": dict(sorted(log.counts.items())),
        "states": dict(Counter(r["state"] for r in rows.values())),
        "states_by_kind": states_by_kind(accepted, rows),
        "errors": dict(
            Counter(
                f"{accepted[i].kind}: {r['error_code']}" for i, r in rows.items() if r["error_code"]
            )
        ),
        "attempts": dict(sorted(Counter(r["attempts"] for r in rows.values()).items())),
        "submission_retries": sum(a.tries - 1 for a in accepted.values()),
        "run_s": round(faults_over - began, 1),
        "jobs_end_s_after_faults": round(ended - faults_over, 1),
        "events_in_s_after_faults": round(delivered - faults_over, 1),
    }
    report.update(check_events(chaos_farm, accepted, rows))
    report.update(check_outputs(chaos_farm, accepted, rows))
    report.update(check_credits(chaos_farm, accepted, rows))
    report["lost"] = plan.jobs - sum(1 for r in rows.values() if r["state"] in FINAL)
    publish(report)

    assert report["lost"] == 0
    assert log.total >= plan.faults
    assert still_running(farm.database_url) == 0
    failed = [r for r in rows.values() if r["state"] == "failed"]
    assert all(r["error_code"] for r in failed), "a job failed without saying why"
    return report


def publish(report: dict[str, Any]) -> None:
    """Print the figures and, with JOBFARM_CHAOS_REPORT, write them there as JSON."""
    print(json.dumps(report, indent=2))
    if os.environ.get("JOBFARM_CHAOS_REPORT"):
        Path(os.environ["JOBFARM_CHAOS_REPORT"]).write_text(json.dumps(report, indent=2))
