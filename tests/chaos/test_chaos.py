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

import hashlib
import io
import json
import os
import random
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import av
import pytest
import requests
import trimesh
from PIL import Image
from sqlalchemy import func, select

from storage.db import read_scope
from storage.models import CreditAccount, CreditTransaction, Job
from tests.chaos.conftest import ChaosFarm
from tests.chaos.faults import Chaos, FaultLog
from tests.chaos.load import Accepted, Load
from tests.farm import wait_until

FINAL = ("succeeded", "failed", "canceled")
# Submissions a second, from four clients: below what two slots finish, so that the
# backlog stays short and the faults, not the queue, decide how long jobs take.
RATE = 6.0
DRAIN_S = 420


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


JOBS = env_int("JOBFARM_CHAOS_JOBS", 2000)


# The submissions' time thrice over, and the drains'.
@pytest.mark.timeout(int(3 * JOBS / RATE + 2 * DRAIN_S))
def test_under_faults_every_accepted_job_ends_with_its_effects_once(
    chaos_farm: ChaosFarm, tmp_path: Path
) -> None:
    seed = env_int("JOBFARM_CHAOS_SEED", random.SystemRandom().randrange(2**31))
    jobs, at_least = JOBS, env_int("JOBFARM_CHAOS_FAULTS", 200)
    log = FaultLog(tmp_path / "faults.jsonl")
    print(f"chaos seed {seed}: {jobs} jobs, at least {at_least} faults, log {log.path}")
    farm = chaos_farm.farm
    load = Load(farm.base_url, chaos_farm.clients, chaos_farm.receiver.url, seed, jobs, RATE)
    chaos = Chaos(
        farm,
        chaos_farm.cluster,
        chaos_farm.redis_server,
        chaos_farm.receiver,
        chaos_farm.blob_dir,
        random.Random(seed),
        log,
    )
    submitting = threading.Thread(target=load.run, daemon=True)
    began = time.monotonic()
    submitting.start()
    chaos.run(done=load.finished.is_set, at_least=at_least)
    submitting.join(timeout=60)
    faults_over = time.monotonic()

    assert load.error is None, f"the clients stopped: {load.error!r}"
    accepted = {a.job_id: a for a in load.accepted}
    assert len(accepted) == len(load.accepted) == jobs, "a submission was lost or doubled"
    wait_until(lambda: not unfinished(farm.database_url, accepted), DRAIN_S, "every job to end")
    ended = time.monotonic()
    rows = job_rows(farm.database_url, list(accepted))
    wait_until(
        lambda: not missing_final_events(chaos_farm, accepted, rows),
        DRAIN_S,
        "every final event at the receiver",
    )
    delivered = time.monotonic()

    report = {
        "seed": seed,
        "jobs": jobs,
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
    report["lost"] = jobs - sum(1 for r in rows.values() if r["state"] in FINAL)
    print(json.dumps(report, indent=2))
    if os.environ.get("JOBFARM_CHAOS_REPORT"):
        Path(os.environ["JOBFARM_CHAOS_REPORT"]).write_text(json.dumps(report, indent=2))

    assert report["lost"] == 0
    assert log.total >= at_least
    assert still_running(farm.database_url) == 0
    failed = [r for r in rows.values() if r["state"] == "failed"]
    assert all(r["error_code"] for r in failed), "a job failed without saying why"


def unfinished(database_url: str, accepted: dict[str, Accepted]) -> list[str]:
    rows = job_rows(database_url, list(accepted))
    return [job_id for job_id in accepted if rows.get(job_id, {}).get("state") not in FINAL]


def job_rows(database_url: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    with read_scope(database_url) as db:
        for start in range(0, len(ids), 500):
            stmt = select(
                Job.id, Job.state, Job.attempts, Job.outputs, Job.error_code, Job.tenant_id
            ).where(Job.id.in_(ids[start : start + 500]))
            for row in db.execute(stmt):
                found[row.id] = dict(row._mapping)
    return found


def still_running(database_url: str) -> int:
    with read_scope(database_url) as db:
        return int(db.scalar(select(func.count()).where(Job.state == "running")) or 0)


def states_by_kind(
    accepted: dict[str, Accepted], rows: dict[str, dict[str, Any]]
) -> dict[str, dict[str, int]]:
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for job_id, a in accepted.items():
        table[a.kind][rows[job_id]["state"]] += 1
    return {kind: dict(counts) for kind, counts in sorted(table.items())}


def final_events(chaos_farm: ChaosFarm, accepted: dict[str, Accepted]) -> dict[str, list[Any]]:
    """job id → [(webhook-id, event type)] of every event the receiver took, each
    verified as signed by its job's tenant."""
    events: dict[str, list[Any]] = defaultdict(list)
    for received, signer in chaos_farm.receiver.successes():
        body = json.loads(received.body)
        job_id = body["data"]["id"]
        assert signer == accepted[job_id].tenant_id, (job_id, signer)
        events[job_id].append((received.headers["webhook-id"], body["type"]))
    return events


def missing_final_events(
    chaos_farm: ChaosFarm, accepted: dict[str, Accepted], rows: dict[str, dict[str, Any]]
) -> list[str]:
    events = final_events(chaos_farm, accepted)
    return [
        job_id
        for job_id in accepted
        if f"job.{rows[job_id]['state']}" not in {kind for _, kind in events.get(job_id, [])}
    ]


def check_events(
    chaos_farm: ChaosFarm, accepted: dict[str, Accepted], rows: dict[str, dict[str, Any]]
) -> dict[str, int]:
    events = final_events(chaos_farm, accepted)
    redelivered = 0
    for job_id, row in rows.items():
        seen = events[job_id]
        kinds = {kind for _, kind in seen}
        assert kinds == {f"job.{row['state']}"}, (job_id, row["state"], seen)
        ids = {webhook_id for webhook_id, _ in seen}
        assert len(ids) == 1, f"{job_id}: {len(ids)} different final events {seen}"
        redelivered += len(seen) - 1
    return {"events": sum(len(v) for v in events.values()), "events_redelivered": redelivered}


EXPECTED_OUTPUTS = {"convert": ".glb", "thumbnail": ".png", "design": ".png", "video": ".mp4"}


def check_outputs(
    chaos_farm: ChaosFarm, accepted: dict[str, Accepted], rows: dict[str, dict[str, Any]]
) -> dict[str, int]:
    """Every succeeded job's outputs, downloaded as its client would and opened."""
    farm, checked = chaos_farm.farm, 0
    keys = {c.tenant_id: c.api_key for c in chaos_farm.clients}
    attached: set[str] = set()
    for job_id, a in accepted.items():
        if rows[job_id]["state"] != "succeeded":
            continue
        attached.update(o["blob_key"] for o in rows[job_id]["outputs"])
        if a.kind == "noop":
            continue
        api = farm.client(keys[a.tenant_id])
        outputs = api.job(job_id)["outputs"]
        suffixes = {Path(o["name"]).suffix for o in outputs}
        assert EXPECTED_OUTPUTS[a.kind] in suffixes, (job_id, a.kind, outputs)
        for output in outputs:
            body = requests.get(output["url"], timeout=30).content
            assert len(body) == output["size"], (job_id, output["name"])
            assert hashlib.sha256(body).hexdigest() == output["sha256"], (job_id, output["name"])
            opens(a.kind, output["name"], body)
            checked += 1
    # Outputs of runs that died before they finished: never attached, never served.
    leftovers = [key for key in farm.blob_keys("jobs") if key not in attached]
    return {"outputs_checked": checked, "blobs_not_attached": len(leftovers)}


def opens(kind: str, name: str, body: bytes) -> None:
    suffix = Path(name).suffix
    if suffix == ".glb":
        mesh = trimesh.load(io.BytesIO(body), file_type="glb", force="mesh")
        assert len(mesh.faces) > 0, name
    elif suffix == ".png":
        with Image.open(io.BytesIO(body)) as image:
            image.load()
            if kind == "thumbnail":  # a drawn model: shades of it against the background
                low, high = image.convert("L").getextrema()
                assert high - low > 16, f"{name} is blank"
            else:  # a design's files: a solid print is one ink, but never nothing
                assert image.convert("RGBA").getextrema()[3][1] > 0, f"{name} is empty"
    elif suffix == ".mp4":
        with av.open(io.BytesIO(body)) as container:
            assert sum(1 for _ in container.decode(video=0)) > 0, name


def check_credits(
    chaos_farm: ChaosFarm, accepted: dict[str, Accepted], rows: dict[str, dict[str, Any]]
) -> dict[str, int]:
    database_url = chaos_farm.farm.database_url
    with read_scope(database_url) as db:
        for client in chaos_farm.clients:
            balance = db.scalar(
                select(CreditAccount.balance).where(CreditAccount.tenant_id == client.tenant_id)
            )
            ledger = db.scalar(
                select(func.sum(CreditTransaction.amount)).where(
                    CreditTransaction.tenant_id == client.tenant_id
                )
            )
            assert balance == ledger, (client.tenant_id, balance, ledger)
        moves: dict[str, list[str]] = defaultdict(list)
        for job_id, kind in db.execute(
            select(CreditTransaction.job_id, CreditTransaction.kind).where(
                CreditTransaction.job_id.is_not(None)
            )
        ):
            moves[job_id].append(kind)
    videos = 0
    for job_id, a in accepted.items():
        if a.kind != "video":
            assert job_id not in moves, (job_id, moves.get(job_id))
            continue
        videos += 1
        settled = "charge" if rows[job_id]["state"] == "succeeded" else "refund"
        assert sorted(moves[job_id]) == sorted(["reserve", settled]), (job_id, moves[job_id])
    return {"videos_charged_or_refunded_once": videos}
