"""Periodic upkeep, run by beat on the maintenance queue: reconciling and purging."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from config.celery import LONG_QUEUES
from config.settings import get_settings
from storage import files, jobs, webhook_endpoints, webhooks
from storage.blobs import JOBS_PREFIX, BlobStore
from storage.db import read_scope, session_scope
from storage.models import utcnow
from workers.app import app
from workers.dispatch import release_and_send, vanished
from workers.enqueue import send_deliveries, send_delivery, send_jobs
from workers.resources import blob_store

log = logging.getLogger(__name__)
# A write to the blob store unfinished after this is taken as left by a process that
# died mid-upload.
STALE_UPLOAD_AFTER = timedelta(days=1)
# A job ended this long ago has no run still storing outputs: what its runs left
# beside the outputs it names (a run killed while storing them) is deleted.
SWEEP_RUNS_AFTER = timedelta(days=1)


@app.task(name="workers.maintenance.reconcile")
def reconcile() -> dict[str, int]:
    """Find work that Redis lost or never got, and send it again.

    - running jobs whose worker stopped heartbeating: back to the backlog (or failed, out
      of attempts);
    - released jobs whose message never reached the broker: sent again; those whose
      message the broker no longer holds, or held too long: back to the backlog;
    - every job queue: released as far as its window allows (the dispatcher's safety net);
    - webhook deliveries that are due: sent;
    - webhook secrets rotated out whose overlap window has ended: forgotten.
    """
    settings = get_settings()
    with session_scope(settings.sql_url) as session:
        recovered, failed_deliveries = jobs.recover_stale_runs(
            session, jobs.stale_cutoff(settings.stale_running_after_s)
        )
    with session_scope(settings.sql_url) as session:
        unsent, lost = jobs.find_undelivered(
            session,
            unsent_before=jobs.stale_cutoff(settings.unsent_queued_after_s),
            lost_before=jobs.stale_cutoff(settings.lost_queued_after_s),
        )
    sent = send_jobs(unsent)
    with session_scope(settings.sql_url) as session:
        suspects = jobs.released_unstarted(session, jobs.stale_cutoff(settings.vanished_after_s))
    gone = vanished(suspects)
    if gone:
        with session_scope(settings.sql_url) as session:
            jobs.back_to_backlog(session, [(d.job_id, d.dispatch_id) for d in gone])
    released = release_and_send(LONG_QUEUES)
    send_deliveries(failed_deliveries)
    with session_scope(settings.sql_url) as session:
        due = webhooks.due(session, utcnow())
        forgotten = webhook_endpoints.forget_expired_secrets(session, utcnow())
    for delivery_id, attempts in due:
        send_delivery(delivery_id, attempts)
    counts = {
        "recovered_queues": len(recovered),
        "lost_queues": len(lost),
        "vanished": len(gone),
        "resent": sent,
        "released": released,
        "webhooks_due": len(due),
        "secrets_forgotten": forgotten,
    }
    if any(counts.values()):
        log.info("reconcile: %s", counts)
    return counts


@app.task(name="workers.maintenance.purge_expired")
def purge_expired() -> dict[str, int]:
    """Delete uploads past their retention, and outputs of jobs that ended before it."""
    settings = get_settings()
    store = blob_store()
    now = utcnow()
    with session_scope(settings.sql_url) as session:
        expired_files = files.take_expired(session, now)
    for stored in expired_files:
        store.delete(stored.blob_key)
    with session_scope(settings.sql_url) as session:
        expired_keys = jobs.take_expired_outputs(
            session, jobs.stale_cutoff(settings.file_retention_days * 86400)
        )
    for prefix in {key.rpartition("/")[0] for key in expired_keys}:
        store.delete_prefix(prefix)
    stale = store.abort_stale_uploads(now - STALE_UPLOAD_AFTER)
    orphans = sweep_runs(settings.sql_url, store, now - SWEEP_RUNS_AFTER)
    return {
        "files": len(expired_files),
        "job_outputs": len(expired_keys),
        "stale_uploads": stale,
        "orphan_runs": orphans,
    }


def sweep_runs(sql_url: str, store: BlobStore, ended_before: datetime) -> int:
    """Delete the run prefixes of jobs ended before `ended_before` that their job does
    not name; returns how many. A job retried since it was read is left for later: the
    prefixes are listed before the job is read again, so a new run's is never among them."""
    with session_scope(sql_url) as session:
        jobs.mark_clean_swept(session, ended_before)
    with read_scope(sql_url) as session:
        candidates = jobs.unswept(session, ended_before)
    swept, deleted = [], 0
    for job in candidates:
        listed = store.prefixes_under(f"{JOBS_PREFIX}/{job.job_id}")
        with read_scope(sql_url) as session:
            if not jobs.still_ended(session, job):
                continue
        for prefix in listed:
            if prefix not in job.kept:
                store.delete_prefix(prefix)
                deleted += 1
        swept.append(job)
    with session_scope(sql_url) as session:
        jobs.mark_swept(session, swept)
    if deleted:
        log.info("purge: %d run prefixes no job names deleted", deleted)
    return deleted
