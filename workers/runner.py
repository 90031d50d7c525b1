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


@app.task(name=RUN_JOB, bind=True)
def run_job(self: Task, job_id: str) -> str:
    """Run job `job_id` if this message is still the one meant to run it."""
    settings = get_settings()
    with session_scope(settings.sql_url) as session:
        held = jobs.claim(
            session, job_id, self.request.id, self.request.hostname or "", os.getpid()
        )
    if held is None:
        log.info("job %s: message %s is stale, nothing to do", job_id, self.request.id)
        # Its job ended (a cancel) or went back to the backlog: the slot may be free.
        release_and_send(LONG_QUEUES)
        return "skipped"
    run_dir = settings.var_dir / "work" / f"{job_id}.{held.token}"
    make_dir(run_dir)
    try:
        return execute(held, settings, run_dir, self.send_event)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
        sweep_abandoned(run_dir.parent, settings.sql_url, run_dir.name, settings.work_sweep_s)


def execute(held: Claim, settings: Settings, run_dir: Path, send_event: Any) -> str:
    """Run the claimed job and settle its state; returns the state it ended in."""
    job = held.job
    with Heartbeat(settings.sql_url, job.id, held.token, settings.heartbeat_interval_s) as beat:
        progress = ProgressReporter(
            settings.sql_url,
            job.id,
            held.token,
            settings.progress_db_interval_s,
            redis_client(),
            send_event,
            beat,
        )
        try:
            outcome = run_kind(held, settings, run_dir, progress)
            return store_and_succeed(held, settings, outcome)
        except RunLost:
            log.info("job %s: run %s lost its hold (canceled or taken over)", job.id, held.token)
            release_and_send([job.queue])
            return "lost"
        except RetryableError as exc:
            return retry_or_fail(held, settings, exc)
        except JobError as exc:
            return fail(held, settings, exc.code, exc.message, exc.details)
        except SoftTimeLimitExceeded:
            limit = settings.time_limit(job.kind).soft_s
            return fail(
                held, settings, "time_limit_exceeded", f"the job ran past its {limit} s limit"
            )
        except MemoryError:
            limit = settings.job_memory_limit_mib
            return fail(
                held,
                settings,
                "out_of_memory",
                f"the job needed more memory than a job may use ({limit} MiB); "
                "a smaller input or a simpler model may fit",
            )
        except Exception as exc:
            log.exception("job %s failed unexpectedly", job.id)
            return fail(held, settings, "internal_error", f"unexpected {type(exc).__name__}: {exc}")


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


def store_and_succeed(held: Claim, settings: Settings, outcome: JobOutcome) -> str:
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
        released = release_after(session, held) if done else []
    if done is None:
        store.delete_prefix(prefix)
        return "lost"
    return settled(done, released)


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
    code: str,
    message: str,
    details: dict[str, object] | None = None,
) -> str:
    with session_scope(settings.sql_url) as session:
        done = jobs.mark_failed(session, held.job.id, held.token, code, message, details)
        released = release_after(session, held) if done else []
    return "lost" if done is None else settled(done, released)


def retry_or_fail(held: Claim, settings: Settings, exc: RetryableError) -> str:
    if held.attempt >= held.job.max_attempts:
        return fail(
            held, settings, exc.code, f"{exc.message} (gave up after {held.attempt} attempts)"
        )
    with session_scope(settings.sql_url) as session:
        dispatch = jobs.requeue_for_retry(session, held.job.id, held.token, exc.code, exc.message)
    if dispatch is None:
        return "lost"
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
    return "queued"


def release_after(session: Session, held: Claim) -> list[Dispatch]:
    """In the run's final transaction: release what the slot it frees lets through."""
    assert held.job.started_at is not None
    dispatch.note_run(held.job.queue, (utcnow() - held.job.started_at).total_seconds())
    return dispatch.release(session, [held.job.queue])


def settled(done: Finished, released: list[Dispatch]) -> str:
    """Send what the job's end made due: the jobs released into its slot, its webhooks."""
    dispatch.send(released)
    send_deliveries(done.delivery_ids)
    return done.job.state.value
