"""`jobfarm users`: the operator's commands for the content platform's users (seed 003).

`users show NAME` prints the user and their tenant id (for `jobfarm credits add`);
`users member NAME --type monthly --days 30` makes them a member (lifting the
generation rate limit), `--end` ends the membership.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from typing import Any

from config.settings import get_settings
from storage import audit, content_users, credits
from storage.content_users import UserNotFound, UserView
from storage.db import read_scope, session_scope
from storage.models import iso, utcnow

MEMBERSHIP_TYPES = ("monthly", "quarterly", "yearly")
MEMBERSHIP_DAYS = {"monthly": 30, "quarterly": 91, "yearly": 365}


def described(user: UserView, balance: int) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "tenant_id": user.tenant_id,
        "credit_balance": balance,
        "is_member": user.is_member(),
        "membership_type": user.membership_type,
        "membership_end_date": iso(user.membership_end_date),
    }


def cmd_users_show(args: argparse.Namespace) -> int:
    with read_scope(get_settings().sql_url) as session:
        user = content_users.by_username(session, args.username)
        if user is None:
            print(f"no user {args.username!r}", file=sys.stderr)
            return 1
        print(json.dumps(described(user, credits.balance(session, user.tenant_id))))
    return 0


def cmd_users_member(args: argparse.Namespace) -> int:
    """Set (or with --end, end) a user's membership; prints the user."""
    kind = None if args.end else args.type
    days = args.days or MEMBERSHIP_DAYS[args.type]
    until = None if args.end else utcnow() + timedelta(days=days)
    with session_scope(get_settings().sql_url) as session:
        try:
            user = content_users.set_membership(session, args.username, kind, until)
        except UserNotFound:
            print(f"no user {args.username!r}", file=sys.stderr)
            return 1
        audit.record(session, "users.member", "cli", user.tenant_id, None, None, type=kind)
        print(json.dumps(described(user, credits.balance(session, user.tenant_id))))
    return 0


def add_parsers(sub: Any) -> None:
    """Add `users show` and `users member` to the `jobfarm` parser's subcommands."""
    users = sub.add_parser("users", help="the content platform's users").add_subparsers(
        dest="users", required=True
    )
    show = users.add_parser("show", help="print a user and their tenant id")
    show.add_argument("username")
    show.set_defaults(func=cmd_users_show)
    member = users.add_parser("member", help="set or end a user's membership")
    member.add_argument("username")
    member.add_argument("--type", choices=MEMBERSHIP_TYPES, default="monthly")
    member.add_argument("--days", type=int, help="length (default: the type's)")
    member.add_argument("--end", action="store_true", help="end the membership now")
    member.set_defaults(func=cmd_users_member)
