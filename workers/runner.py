"""The generic runner: turns a job id into a call of its kind's function.

A message runs its job only while its task id is the job's current dispatch id
(see `storage.jobs.claim`); a redelivered message for a finished, canceled or
re-dispatched job does nothing. Outputs go under the run's own token and count
only once the run's `mark_succeeded` wins.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from billiard.exceptions import SoftTimeLimitExceeded
from celery import Task
from pydantic import ValidationError
from sqlalchemy.orm import Session

from config.celery import LONG_QUEUES
from config.settings import Settings, get_settings
from storage import jobs
from storage.blobs import JOBS_PREFIX, BlobStoreUnavailable
from storage.db import session_scope
from storage.jobs import Claim, Dispatch, Finished
from storage.models import utcnow
from tasks.errors import JobError, RetryableError
from tasks.registry import UnknownKind, get_kind
from tasks.types import JobContext, JobOutcome
from workers import dispatch
from workers.app import app
from workers.backoff import job_retry_delay
from workers.dispatch import release_and_send
from workers.enqueue import RUN_JOB, send_deliveries, send_jobs
from workers.http_guard import client_session
from workers.inputs import fetch_inputs
from workers.models import with_model
from workers.progress import Heartbeat, ProgressReporter, RunLost
from workers.resources import blob_store, redis_client
from workers.scratch import sweep_abandoned

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """The Celery message a pool process runs: the job it was sent for, then the jobs
    its runs continue with, all of one kind (they share the message's time limits).

    A run of a very short job (see workers.dispatch.continues) that ends goes straight
    on with the next job its end releases, while the message has run less than
    `continue_for_s` and less than a hundredth of its time limit (so a continued job
    keeps at least 99 % of its own). Such a job costs one transaction fewer and no
    broker round trip.
    """

    id: str
    worker: str
    started: float
    send_event: Any
    kind: str = ""

    def may_continue(self, settings: Settings, queue: str) -> bool:
        budget = min(settings.continue_for_s, settings.time_limit(self.kind).soft_s / 100)
        return dispatch.continues(queue) and time.monotonic() - self.started < budget


@app.task(name=RUN_JOB, bind=True)
def run_job(self: Task, job_id: str) -> str:
    """Run job `job_id` if this message is still the one meant to run it, then the jobs
    the runs continue with."""
    settings = get_settings()
    message = Message(
        self.request.id, self.request.hostname or "", time.monotonic(), self.send_event
    )
    with session_scope(settings.sql_url) as session:
        held = jobs.claim(session, job_id, message.id, message.worker, os.getpid())
        if held is None:  # a redelivery: a run it continued with may have died
            held = jobs.claim_left_under(session, message.id, message.worker, os.getpid())
    if held is None:
        log.info("job %s: message %s is stale, nothing to do", job_id, message.id)
        # Its job ended (a cancel) or went back to the backlog: the slot may be free.
        release_and_send(LONG_QUEUES)
        return "skipped"
    message = replace(message, kind=held.job.kind)
    state = "skipped"
    next_held: Claim | None = held
    while next_held is not None:
        state, next_held = run_one(next_held, settings, message)
    return state


def run_one(held: Claim, settings: Settings, message: Message) -> tuple[str, Claim | None]:
    """Run one claimed job in a scratch directory of its own; returns the state it ended
    in and the job claimed to continue with, if any."""
    run_dir = settings.var_dir / "work" / f"{held.job.id}.{held.token}"
    try:
        make_dir(run_dir)
    except OSError as exc:  # a full or broken disk: another attempt, maybe elsewhere
        return retry_or_fail(held, settings, RetryableError(f"no scratch space: {exc}"), message)
    try:
        return execute(held, settings, run_dir, message)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
        try:
            sweep_abandoned(run_dir.parent, settings.sql_url, run_dir.name, settings.work_sweep_s)
        except Exception:  # housekeeping: the next sweep retries; a claimed job must run
            log.warning("sweeping abandoned run directories failed", exc_info=True)


def execute(
    held: Claim, settings: Settings, run_dir: Path, message: Message
) -> tuple[str, Claim | None]:
    """Run the claimed job and settle its state; returns the state it ended in and the
    job claimed to continue with, if any."""
    job = held.job
    with Heartbeat(settings.sql_url, job.id, held.token, settings.heartbeat_interval_s) as beat:
        progress = ProgressReporter(
            settings.sql_url,
            job.id,
            held.token,
            settings.progress_db_interval_s,
            redis_client(),
            message.send_event,
            beat,
        )
        try:
            outcome = run_kind(held, settings, run_dir, progress)
            return store_and_succeed(held, settings, outcome, message)
        except RunLost:
            log.info("job %s: run %s lost its hold (canceled or taken over)", job.id, held.token)
            release_and_send([job.queue])
            return "lost", None
        except RetryableError as exc:
            return retry_or_fail(held, settings, exc, message)
        except JobError as exc:
            return fail(held, settings, message, exc.code, exc.message, exc.details)
        except SoftTimeLimitExceeded:
            limit = settings.time_limit(job.kind).soft_s
            return fail(
                held,
                settings,
                None,  # the message's time is up
                "time_limit_exceeded",
                f"the job ran past its {limit} s limit",
            )
        except MemoryError:
            limit = settings.job_memory_limit_mib
            return fail(
                held,
                settings,
                message,
                "out_of_memory",
                f"the job needed more memory than a job may use ({limit} MiB); "
                "a smaller input or a simpler model may fit",
            )
        except Exception as exc:
            log.exception("job %s failed unexpectedly", job.id)
            error = f"unexpected {type(exc).__name__}: {exc}"
            return fail(held, settings, message, "internal_error", error)


def run_kind(
    held: Claim, settings: Settings, run_dir: Path, progress: ProgressReporter
) -> JobOutcome:
    job = held.job
    try:
        kind = get_kind(job.kind)
        params = kind.params.model_validate(job.params)
    except UnknownKind:
        raise JobError(f"unknown job kind {job.kind!r}") from None
    except ValidationError as exc:
        raise JobError(f"invalid params: {exc.errors()[0]['msg']}") from None
    params = with_model(params, job.tenant_id, settings)
    inputs = fetch_inputs(job, run_dir / "in", settings, blob_store())
    with client_session(settings.ssrf_guard_enabled) as http:
        ctx = JobContext(
            params=params,
            workdir=run_dir,
            inputs=inputs,
            attempt=held.attempt,
            progress=progress,
            http=http,
        )
        return kind.run(ctx)


def store_and_succeed(
    held: Claim, settings: Settings, outcome: JobOutcome, message: Message
) -> tuple[str, Claim | None]:
    store = blob_store()
    prefix = output_prefix(held.job.id, held.token)
    outputs = []
    for path in outcome.outputs:
        try:
            blob = store.adopt(f"{prefix}/{path.name}", path)
        except BlobStoreUnavailable as exc:
            # Outputs already stored under this run's token would never be read again.
            with contextlib.suppress(BlobStoreUnavailable):
                store.delete_prefix(prefix)
            raise RetryableError(f"the outputs could not be stored: {exc}") from None
        outputs.append(
            {"name": path.name, "size": blob.size, "sha256": blob.sha256, "blob_key": blob.key}
        )
    with session_scope(settings.sql_url) as session:
        done = jobs.mark_succeeded(session, held.job.id, held.token, outcome.result, outputs)
        released, next_held = (
            release_after(session, held, settings, message) if done else ([], None)
        )
    if done is None:
        store.delete_prefix(prefix)
        return "lost", None
    return settled(done, released), next_held


def output_prefix(job_id: str, token: str) -> str:
    """Where a run's outputs go: under its job, in a prefix of the run's own token, so
    runs never overwrite each other and a dead run's leftovers can be told apart."""
    return f"{JOBS_PREFIX}/{job_id}/{token}"


def make_dir(path: Path) -> None:
    # One mkdir in the common case; this filesystem charges for every attempt.
    try:
        path.mkdir()
    except FileNotFoundError:
        path.mkdir(parents=True)


def fail(
    held: Claim,
    settings: Settings,
    message: Message | None,
    code: str,
    error: str,
    details: dict[str, object] | None = None,
) -> tuple[str, Claim | None]:
    """Mark the run's job failed; `message` None: go on with no other job."""
    with session_scope(settings.sql_url) as session:
        done = jobs.mark_failed(session, held.job.id, held.token, code, error, details)
        released, next_held = (
            release_after(session, held, settings, message) if done else ([], None)
        )
    return ("lost", None) if done is None else (settled(done, released), next_held)


def retry_or_fail(
    held: Claim, settings: Settings, exc: RetryableError, message: Message
) -> tuple[str, Claim | None]:
    if held.attempt >= held.job.max_attempts:
        error = f"{exc.message} (gave up after {held.attempt} attempts)"
        return fail(held, settings, message, exc.code, error)
    with session_scope(settings.sql_url) as session:
        dispatch = jobs.requeue_for_retry(session, held.job.id, held.token, exc.code, exc.message)
    if dispatch is None:
        return "lost", None
    delay = job_retry_delay(
        held.attempt, settings.retry_backoff_base_s, settings.retry_backoff_max_s
    )
    log.info(
        "job %s: attempt %d failed (%s); retrying in %.1f s",
        held.job.id,
        held.attempt,
        exc.message,
        delay,
    )
    send_jobs([dispatch], countdown=delay)
    return "queued", None


def release_after(
    session: Session, held: Claim, settings: Settings, message: Message | None
) -> tuple[list[Dispatch], Claim | None]:
    """In the run's final transaction: release what the slot it frees lets through, and
    claim the first released job of the message's kind to continue with when the message
    may go on (see `Message.may_continue`); returns the rest, to send, and that claim."""
    job = held.job
    assert job.started_at is not None
    dispatch.note_run(job.queue, (utcnow() - job.started_at).total_seconds())
    released = dispatch.release(session, [job.queue], freed=True)
    if message is None or not message.may_continue(settings, job.queue):
        return released, None
    for i, next_job in enumerate(released):
        if next_job.kind == message.kind:
            pid = os.getpid()
            claimed = jobs.claim(
                session, next_job.job_id, next_job.dispatch_id, message.worker, pid, message.id
            )
            if claimed is not None:
                return released[:i] + released[i + 1 :], claimed
            break
    return released, None


def settled(done: Finished, released: list[Dispatch]) -> str:
    """Send what the job's end made due: the jobs released into its slot, its webhooks.
    A failure is logged, not raised: the job has ended, a job claimed to continue with
    must still run, and the reconciler sends what did not go out."""
    try:
        dispatch.send(released)
        send_deliveries(done.delivery_ids)
    except Exception:
        log.warning("job %s: sending what its end made due failed", done.job.id, exc_info=True)
    return done.job.state.value
