"""`jobfarm apps`: the operator's commands for signed apps (seed 004's console steps 3
and 4). Every API key has an app (`jobfarm keys create` prints its `app_id` and
`app_secret`).

`apps allow-ip APP_ID IP_OR_CIDR...` takes the app's signed calls only from these
addresses (`--any` lifts the allowlist); `apps set-webhook APP_ID URL` posts the events
of the app's jobs given no `callback_url` there (`--clear` removes it).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from typing import Any

from config.settings import get_settings
from storage import signed_apps
from storage.db import session_scope


def _apply(app_id: str, change: Any, *value: Any) -> int:
    try:
        with session_scope(get_settings().sql_url) as session:
            change(session, app_id, *value)
    except signed_apps.AppNotFound:
        print(f"no app {app_id}", file=sys.stderr)
        return 1
    return 0


def cmd_allow_ip(args: argparse.Namespace) -> int:
    ips = [] if args.any else list(args.ips)
    for entry in ips:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            print(f"not an IP address or network: {entry}", file=sys.stderr)
            return 2
    if not ips and not args.any:
        print("give the allowed IPs, or --any", file=sys.stderr)
        return 2
    code = _apply(args.app_id, signed_apps.set_allowed_ips, ips)
    if code == 0:
        print(json.dumps({"app_id": args.app_id, "allowed_ips": ips}))
    return code


def cmd_set_webhook(args: argparse.Namespace) -> int:
    url = None if args.clear else args.url
    if url is None and not args.clear:
        print("give the webhook URL, or --clear", file=sys.stderr)
        return 2
    if url is not None and not url.startswith(("http://", "https://")):
        print("the webhook URL must be http(s)", file=sys.stderr)
        return 2
    code = _apply(args.app_id, signed_apps.set_webhook, url)
    if code == 0:
        print(json.dumps({"app_id": args.app_id, "webhook_url": url}))
    return code


def add_parsers(sub: Any) -> None:
    apps = sub.add_parser("apps", help="manage signed apps").add_subparsers(
        dest="apps", required=True
    )
    allow = apps.add_parser("allow-ip", help="take an app's signed calls only from these IPs")
    allow.add_argument("app_id")
    allow.add_argument("ips", nargs="*", metavar="IP_OR_CIDR")
    allow.add_argument("--any", action="store_true", help="lift the allowlist")
    allow.set_defaults(func=cmd_allow_ip)
    hook = apps.add_parser("set-webhook", help="the default webhook of an app's jobs")
    hook.add_argument("app_id")
    hook.add_argument("url", nargs="?")
    hook.add_argument("--clear", action="store_true")
    hook.set_defaults(func=cmd_set_webhook)
