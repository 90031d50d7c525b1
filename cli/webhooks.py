"""`jobfarm webhooks replay`: the operator sends a tenant's dead letters again.

`webhooks replay TENANT --since TIME [--endpoint ID] [--status S] [--event-type T]`
makes the matching deliveries pending again, with their webhook-ids; beat's reconciler
sends them within `JOBFARM_RECONCILE_INTERVAL_S`. A disabled endpoint named is refused
(exit 1): enable it first. Without `--endpoint`, deliveries to disabled or deleted
endpoints are left alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from config.settings import get_settings
from storage import audit, tenants, webhooks
from storage.db import session_scope
from storage.delivery_status import STATUS_FILTERS, statuses_of
from storage.retries import as_stored_utc
from storage.webhook_endpoints import EVENT_TYPES, EndpointDisabled, EndpointNotFound


def utc_time(text: str) -> datetime:
    """An ISO 8601 time as naive UTC; one without an offset is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return as_stored_utc(moment)


def cmd_replay(args: argparse.Namespace) -> int:
    settings = get_settings()
    with session_scope(settings.sql_url) as session:
        tenant_id = tenants.tenant_id_of(session, args.tenant)
        if tenant_id is None:
            print(f"no tenant {args.tenant!r}", file=sys.stderr)
            return 1
        try:
            taken = webhooks.replay(
                session,
                tenant_id,
                args.since,
                endpoint_id=args.endpoint,
                statuses=statuses_of(args.status),
                event_type=args.event_type,
                most=settings.webhook_replay_max,
            )
        except EndpointNotFound:
            print(f"no endpoint {args.endpoint!r} for tenant {args.tenant!r}", file=sys.stderr)
            return 1
        except EndpointDisabled:
            print(f"endpoint {args.endpoint} is disabled: enable it first", file=sys.stderr)
            return 1
        audit.record(
            session,
            "webhook.replay",
            "cli",
            tenant_id,
            args.endpoint,
            None,
            since=args.since.isoformat(),
            status=args.status,
            replayed=len(taken),
        )
    print(json.dumps({"tenant_id": tenant_id, "replayed": len(taken)}))
    return 0


def add_parsers(sub: Any) -> None:
    parsers = sub.add_parser("webhooks", help="webhook deliveries: replay dead letters")
    commands = parsers.add_subparsers(dest="webhooks", required=True)
    replay = commands.add_parser("replay", help="send a tenant's deliveries again")
    replay.add_argument("tenant", help="tenant name or id")
    replay.add_argument("--since", type=utc_time, required=True, help="ISO 8601, UTC by default")
    replay.add_argument("--endpoint", help="only this endpoint's deliveries")
    replay.add_argument("--status", choices=sorted(STATUS_FILTERS), default="dead")
    replay.add_argument("--event-type", choices=EVENT_TYPES)
    replay.set_defaults(func=cmd_replay)
