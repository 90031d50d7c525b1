"""`/ws/progress?order_id=`: live progress of a design or a batch, as seed 000 §5.1 shows:
`{"timestamp", "stage", "completion", "alert"}`, until the design or batch ends.
The token comes in `?token=`, the Authorization header, or as the subprotocols
`bearer, <token>` (answered with `bearer`), which keeps it out of URLs and their logs.

A design's messages come from whichever worker runs it, through Redis pub/sub; its
end (and a batch's counts) are read from SQL, the source of truth, every half second.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import redis.asyncio as aioredis
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from api_stub import tokens
from api_stub.callers import bearer_token
from api_stub.smartmanu.auth import REAUTHENTICATE, TOKEN_PREFIX
from config.settings import Settings, get_settings
from storage import batches, jobs, tenants
from storage.batches import BatchNotFound
from storage.db import read_scope
from storage.jobs import JobNotFound
from storage.models import iso, utcnow
from storage.states import FINAL_STATES, JobState
from workers.channels import progress_channel

router = APIRouter()

CHECK_INTERVAL_S = 0.5
POLICY_VIOLATION, NOT_FOUND = 1008, 4404
BEARER_SUBPROTOCOL = "bearer"


def message(stage: str | None, completion: float, alert: str | None = None) -> dict[str, Any]:
    return {
        "timestamp": iso(utcnow()),
        "stage": stage or "queued",
        "completion": round(completion, 1),
        "alert": alert,
    }


def offered_token(subprotocols: list[str]) -> str | None:
    """The token offered as WebSocket subprotocols, for clients that cannot set headers
    (browsers): `bearer`, then the token. None if not offered so."""
    if BEARER_SUBPROTOCOL not in subprotocols:
        return None
    after = subprotocols[subprotocols.index(BEARER_SUBPROTOCOL) + 1 :]
    return after[0] if after else None


def tenant_of(websocket: WebSocket, settings: Settings) -> str | None:
    """The tenant behind the token in `?token=`, the Authorization header or the
    subprotocols offered (`Sec-WebSocket-Protocol: bearer, <token>`)."""
    presented = (
        websocket.query_params.get("token")
        or bearer_token(websocket.headers.get("authorization"))
        or offered_token(websocket.scope.get("subprotocols", []))
    )
    granted = (
        tokens.verify(TOKEN_PREFIX, settings.access_token_secret, presented) if presented else None
    )
    if granted is None:
        return None
    with read_scope(settings.sql_url) as session:
        owner = tenants.live_key_tenant(session, granted.key_id)
    return granted.tenant_id if owner == granted.tenant_id else None


@router.websocket("/ws/progress")
async def progress(websocket: WebSocket, order_id: str) -> None:
    settings = get_settings()
    tenant_id = await run_in_threadpool(tenant_of, websocket, settings)
    if tenant_id is None:
        await websocket.close(code=POLICY_VIOLATION, reason=REAUTHENTICATE[:120])
        return
    offered = BEARER_SUBPROTOCOL in websocket.scope.get("subprotocols", [])
    await websocket.accept(subprotocol=BEARER_SUBPROTOCOL if offered else None)
    try:
        if order_id.startswith("BAT-"):
            await follow_batch(websocket, tenant_id, order_id, settings)
        else:
            await follow_design(websocket, tenant_id, order_id, settings)
    except WebSocketDisconnect:
        return


def design_snapshot(tenant_id: str, design_id: str, settings: Settings) -> dict[str, Any] | None:
    """The design's state as a message, with `final` set once it has ended; None if unknown."""
    with read_scope(settings.sql_url) as session:
        try:
            job = jobs.get_job(session, tenant_id, design_id)
        except JobNotFound:
            return None
    if job.state is JobState.SUCCEEDED:
        return {**message("done", 100.0), "final": True}
    if job.state in FINAL_STATES:
        return {**message("failed", job.completion, job.error_message), "final": True}
    return {**message(job.stage, job.completion), "final": False}


async def follow_design(
    websocket: WebSocket, tenant_id: str, design_id: str, settings: Settings
) -> None:
    """Forward the worker's progress messages; end with the design's final state."""
    client = aioredis.Redis.from_url(settings.redis_server_url)
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(progress_channel(design_id))
        snapshot = await run_in_threadpool(design_snapshot, tenant_id, design_id, settings)
        if snapshot is None:
            await websocket.close(code=NOT_FOUND, reason="no such design")
            return
        await websocket.send_json({k: v for k, v in snapshot.items() if k != "final"})
        while not snapshot["final"]:
            published = await pubsub.get_message(
                ignore_subscribe_messages=True, timeout=CHECK_INTERVAL_S
            )
            if published is not None:
                update = json.loads(published["data"])
                await websocket.send_json(message(update["stage"], update["completion"]))
            refreshed = await run_in_threadpool(design_snapshot, tenant_id, design_id, settings)
            snapshot = refreshed or {**message("failed", 0.0, "the design is gone"), "final": True}
        await websocket.send_json({k: v for k, v in snapshot.items() if k != "final"})
        await websocket.close()
    finally:
        await pubsub.aclose()
        await client.aclose()


def batch_snapshot(tenant_id: str, batch_id: str, settings: Settings) -> dict[str, Any] | None:
    with read_scope(settings.sql_url) as session:
        try:
            batch = batches.get_batch(session, tenant_id, batch_id)
        except BatchNotFound:
            return None
    failed = batch.finished - batch.succeeded
    alert = f"{failed} of {batch.total} tasks failed" if failed else None
    completion = 100.0 * batch.finished / batch.total if batch.total else 100.0
    stage = "completed" if batch.completed_at else "processing"
    return {**message(stage, completion, alert), "final": batch.completed_at is not None}


async def follow_batch(
    websocket: WebSocket, tenant_id: str, batch_id: str, settings: Settings
) -> None:
    """Send the batch's completion whenever it changes, until its last task has ended."""
    last: tuple[Any, ...] | None = None
    while True:
        snapshot = await run_in_threadpool(batch_snapshot, tenant_id, batch_id, settings)
        if snapshot is None:
            await websocket.close(code=NOT_FOUND, reason="no such batch")
            return
        current = (snapshot["completion"], snapshot["alert"], snapshot["stage"])
        if current != last:
            await websocket.send_json({k: v for k, v in snapshot.items() if k != "final"})
            last = current
        if snapshot["final"]:
            await websocket.close()
            return
        await asyncio.sleep(CHECK_INTERVAL_S)
