"""`jobfarm dispatch`: the operator's terms for tenants' share of the job queues.

`dispatch set TENANT [--queue Q] [--weight N] [--cap N | --no-cap]` sets a tenant's
weight (its share of a queue's window against other tenants' of equal priority; 1 by
default) and its cap on jobs in flight on that queue (`*`, every queue, without
`--queue`; a queue's own policy wins over `*`). `dispatch list` prints every policy.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from config.celery import LONG_QUEUES
from config.settings import get_settings
from storage import audit, dispatch, tenants
from storage.db import read_scope, session_scope


def cmd_set(args: argparse.Namespace) -> int:
    if args.weight is None and args.cap is None and not args.no_cap:
        print("give --weight, --cap or --no-cap", file=sys.stderr)
        return 2
    with session_scope(get_settings().sql_url) as session:
        tenant_id = tenants.tenant_id_of(session, args.tenant)
        if tenant_id is None:
            print(f"no tenant {args.tenant!r}", file=sys.stderr)
            return 1
        policy = dispatch.set_policy(
            session, tenant_id, args.queue, args.weight, args.cap, clear_cap=args.no_cap
        )
        terms = {"weight": policy.weight, "max_in_flight": policy.max_in_flight}
        audit.record(session, "dispatch.set", "cli", tenant_id, args.queue, None, **terms)
    print(json.dumps({"tenant_id": tenant_id, "queue": args.queue, **terms}))
    return 0


def cmd_list(_: argparse.Namespace) -> int:
    with read_scope(get_settings().sql_url) as session:
        policies = dispatch.list_policies(session)
    for tenant_id, queue, policy in policies:
        print(
            json.dumps(
                {
                    "tenant_id": tenant_id,
                    "queue": queue,
                    "weight": policy.weight,
                    "max_in_flight": policy.max_in_flight,
                }
            )
        )
    return 0


def positive(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError("must be between 1 and 1000000")
    return value


def add_parsers(sub: Any) -> None:
    parsers = sub.add_parser("dispatch", help="tenants' weights and caps on the job queues")
    commands = parsers.add_subparsers(dest="dispatch", required=True)
    put = commands.add_parser("set", help="set a tenant's weight or cap (by name or id)")
    put.add_argument("tenant")
    put.add_argument("--queue", choices=[dispatch.ALL_QUEUES, *LONG_QUEUES], default="*")
    put.add_argument("--weight", type=positive)
    cap = put.add_mutually_exclusive_group()
    cap.add_argument("--cap", type=positive, help="most jobs in flight on the queue at once")
    cap.add_argument("--no-cap", action="store_true", help="lift the cap")
    put.set_defaults(func=cmd_set)
    commands.add_parser("list", help="print every tenant's policies").set_defaults(func=cmd_list)
