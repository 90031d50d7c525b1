"""What must hold after a run under faults, read from the farm's database, its blob
store and what the receiver took; each check returns its figures for the report or
fails with the job it found wrong."""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import av
import requests
import trimesh
from PIL import Image
from sqlalchemy import func, select

from storage.db import read_scope
from storage.models import CreditAccount, CreditTransaction, Job
from tests.chaos.conftest import ChaosFarm
from tests.chaos.load import Accepted

FINAL = ("succeeded", "failed", "canceled")


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
