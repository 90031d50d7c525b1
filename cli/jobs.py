"""`jobfarm jobs`: the operator's retries of ended jobs.

`jobs retry JOB_ID` starts one failed or canceled job over (any tenant's).
`jobs retry --tenant T [--state failed|canceled] [--kind K] [--since 2h|ISO-8601]
[--limit N]` starts over up to N of a tenant's ended jobs, oldest first. Each prints
one JSON line; every job started over is in the audit log, by `cli`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timedelta
from typing import Any

from config.settings import get_settings
from storage import audit, retries, tenants
from storage.db import session_scope
from storage.jobs import JobNotFound
from storage.models import utcnow
from storage.retries import MAX_BULK_RETRY, CreditsSettled, Retried, RetryFilter
from storage.states import IllegalTransition, JobState
from workers import dispatch as dispatcher

AGO = re.compile(r"^(\d+)([smhd])$")
UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def since(text: str, now: datetime | None = None) -> datetime:
    """`--since`: a span back from now (`90s`, `30m`, `2h`, `7d`) or an ISO-8601 time
    (UTC unless it names its offset), as naive UTC."""
    found = AGO.match(text.strip())
    if found:
        try:
            span = timedelta(seconds=int(found.group(1)) * UNIT_S[found.group(2)])
            return (now or utcnow()) - span
        except OverflowError:
            raise argparse.ArgumentTypeError(f"a span back past year 1: {text}") from None
    try:
        return retries.as_stored_utc(datetime.fromisoformat(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a span (2h) nor an ISO-8601 time: {text}") from None


def bulk_limit(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_BULK_RETRY:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_BULK_RETRY}")
    return value


def cmd_retry(args: argparse.Namespace) -> int:
    if (args.job_id is None) == (args.tenant is None):
        print("give a job id, or --tenant with a filter", file=sys.stderr)
        return 2
    settings = get_settings()
    with session_scope(settings.sql_url) as session:
        if args.job_id:
            done, more, status = retry_one(session, args.job_id, settings.max_attempts)
        else:
            done, more, status = retry_filtered(session, args, settings.max_attempts)
        for retried in done:
            job = retried.job
            detail = {
                "from": retried.previous.value,
                "attempts": job.attempts,
                "bulk": not args.job_id,
            }
            audit.record(session, "job.retry", "cli", job.tenant_id, job.id, None, **detail)
        released = dispatcher.release(session, {r.job.queue for r in done})
    dispatcher.send(released)
    if status == 0:
        print(json.dumps({"count": len(done), "ids": [r.job.id for r in done], "more": more}))
    return status


def retry_one(session: Any, job_id: str, more_attempts: int) -> tuple[list[Retried], bool, int]:
    tenant_id = retries.owner_of(session, job_id)
    try:
        if tenant_id is None:
            raise JobNotFound(job_id)
        return [retries.retry(session, tenant_id, job_id, more_attempts)], False, 0
    except JobNotFound:
        print(f"no job {job_id}", file=sys.stderr)
    except IllegalTransition as exc:
        print(
            f"job {job_id} is {exc.current}: only a failed or canceled job is retried",
            file=sys.stderr,
        )
    except CreditsSettled:
        print(
            f"job {job_id} reserved credits, settled when it ended: submit it again",
            file=sys.stderr,
        )
    return [], False, 1


def retry_filtered(
    session: Any, args: argparse.Namespace, more_attempts: int
) -> tuple[list[Retried], bool, int]:
    tenant_id = tenants.tenant_id_of(session, args.tenant)
    if tenant_id is None:
        print(f"no tenant {args.tenant!r}", file=sys.stderr)
        return [], False, 1
    wanted = RetryFilter(
        state=JobState(args.state), kind=args.kind, created_after=args.since, limit=args.limit
    )
    done, more = retries.retry_matching(session, tenant_id, wanted, more_attempts)
    return done, more, 0


def add_parsers(sub: Any) -> None:
    parsers = sub.add_parser("jobs", help="retry failed or canceled jobs")
    commands = parsers.add_subparsers(dest="jobs", required=True)
    retry = commands.add_parser("retry", help="start a job, or a tenant's ended jobs, over")
    retry.add_argument("job_id", nargs="?", help="the job to retry (any tenant's)")
    retry.add_argument("--tenant", help="retry this tenant's jobs (by name or id) instead")
    retry.add_argument("--state", choices=["failed", "canceled"], default="failed")
    retry.add_argument("--kind")
    retry.add_argument("--since", type=since, help="created since: 2h, 30m, 7d or ISO-8601")
    retry.add_argument("--limit", type=bulk_limit, default=100)
    retry.set_defaults(func=cmd_retry)
