"""The `jobfarm` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import uvicorn

from cli import apps, client, dispatch, jobs, roles, systemd, users, webhooks
from cli.up import run_up
from config.settings import get_settings
from storage import audit, credits, signed_apps, tenants
from storage.db import session_scope
from storage.migrate import upgrade


def cmd_up(args: argparse.Namespace) -> int:
    return run_up(get_settings(), args.procfile)


def cmd_web(args: argparse.Namespace) -> int:
    settings = get_settings()
    uvicorn.run(
        "api_stub.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    roles.exec_role(roles.worker_argv(get_settings(), args.role, args.concurrency))
    return 0


def cmd_beat(_: argparse.Namespace) -> int:
    roles.exec_role(roles.beat_argv(get_settings()))
    return 0


def cmd_flower(_: argparse.Namespace) -> int:
    settings = get_settings()
    roles.exec_role(roles.flower_argv(settings), roles.flower_env(settings))
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    upgrade(get_settings().sql_url)
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    """Print a new API key and the tenant's webhook secret; with --json, as the last line."""
    settings = get_settings()
    upgrade(settings.sql_url)
    with session_scope(settings.sql_url) as session:
        creds = tenants.create_key(session, args.tenant)
        app = signed_apps.create_for_api_key(session, creds.api_key, settings.model_key_secret)
        audit.record(session, "key.create", "cli", creds.tenant_id, None, None)
    if args.json:
        print(
            json.dumps(
                {
                    "tenant_id": creds.tenant_id,
                    "api_key": creds.api_key,
                    "webhook_secret": creds.webhook_secret,
                    "merchant_id": creds.merchant_id,
                    "app_id": app.app_id,
                    "app_secret": app.app_secret,
                }
            )
        )
    else:
        print(f"tenant:         {args.tenant} ({creds.tenant_id})")
        print(f"api key:        {creds.api_key}")
        print(f"webhook secret: {creds.webhook_secret}")
        print(f"merchant id:    {creds.merchant_id}")
        print(f"app id:         {app.app_id}")
        print(f"app secret:     {app.app_secret}")
        print("Keep these safe: the key and the app secret are not shown again.")
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    """Revoke an API key, given whole or as `jf_<prefix>`; its AccessTokens stop too."""
    with session_scope(get_settings().sql_url) as session:
        try:
            caller = tenants.revoke_key(session, args.key)
        except tenants.KeyNotFound:
            print("no such API key", file=sys.stderr)
            return 1
        audit.record(session, "key.revoke", "cli", caller.tenant_id, caller.key_id, None)
    print(f"revoked {caller.key_id} of tenant {caller.tenant_id}")
    return 0


def cmd_credits_add(args: argparse.Namespace) -> int:
    """Top a tenant's credits up (the operator's recharge); prints the new balance."""
    with session_scope(get_settings().sql_url) as session:
        tenant_id = tenants.tenant_id_of(session, args.tenant)
        if tenant_id is None:
            print(f"no tenant {args.tenant!r}", file=sys.stderr)
            return 1
        balance = credits.recharge(session, tenant_id, args.amount, args.note)
        audit.record(session, "credits.add", "cli", tenant_id, None, None, amount=args.amount)
    print(json.dumps({"tenant_id": tenant_id, "credit_balance": balance}))
    return 0


def cmd_purge(_: argparse.Namespace) -> int:
    """Run the retention purge now (beat runs it every `purge_interval_s`)."""
    from workers.maintenance import purge_expired

    print(json.dumps(purge_expired()))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    with session_scope(get_settings().sql_url) as session:
        events = audit.recent(session, args.tenant, args.limit)
    for event in reversed(events):
        print(
            json.dumps(
                {
                    "at": event.at.isoformat() + "Z",
                    "tenant_id": event.tenant_id,
                    "actor": event.actor,
                    "action": event.action,
                    "object_id": event.object_id,
                    "request_id": event.request_id,
                    "detail": event.detail,
                },
                ensure_ascii=False,
            )
        )
    return 0


def _client(args: argparse.Namespace) -> client.FarmClient:
    key = args.api_key or os.environ.get("JOBFARM_API_KEY")
    if not key:
        raise SystemExit("set JOBFARM_API_KEY or pass --api-key")
    return client.FarmClient(args.api_url or get_settings().base_url, key)


def cmd_submit(args: argparse.Namespace) -> int:
    api = _client(args)
    body: dict[str, object] = {"kind": args.kind, "params": json.loads(args.params)}
    if args.file:
        body["input_file_id"] = api.upload(Path(args.file))
    if args.url:
        body["input_url"] = args.url
    if args.callback_url:
        body["callback_url"] = args.callback_url
    job = api.submit(body)
    if args.wait:
        job = client.wait_for(api, job["id"], args.timeout)
    client.print_job(job)
    return 0 if job["state"] != "failed" else 1


def cmd_status(args: argparse.Namespace) -> int:
    api = _client(args)
    job = client.wait_for(api, args.job_id, args.timeout) if args.wait else api.job(args.job_id)
    client.print_job(job)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="jobfarm", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the whole farm (embedded Redis and SQLite by default)")
    up.add_argument("--procfile", help="the Procfile to run (default: ./Procfile)")
    up.set_defaults(func=cmd_up)
    web = sub.add_parser("web", help="run the HTTP API")
    web.add_argument("--workers", type=int, default=1)
    web.set_defaults(func=cmd_web)
    worker = sub.add_parser("worker", help="run a Celery worker")
    worker.add_argument("--role", choices=sorted(roles.ROLE_QUEUES), required=True)
    worker.add_argument("--concurrency", type=int)
    worker.set_defaults(func=cmd_worker)
    sub.add_parser("beat", help="run the periodic scheduler (one per farm)").set_defaults(
        func=cmd_beat
    )
    sub.add_parser("flower", help="run the Flower dashboard").set_defaults(func=cmd_flower)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("purge", help="delete expired files and outputs now").set_defaults(
        func=cmd_purge
    )
    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(dest="keys", required=True)
    create = keys.add_parser("create", help="create an API key for a tenant")
    create.add_argument("--tenant", required=True)
    create.add_argument("--json", action="store_true")
    create.set_defaults(func=cmd_keys_create)
    revoke = keys.add_parser("revoke", help="revoke an API key and the tokens it issued")
    revoke.add_argument("key", help="the API key, or its first part jf_<prefix>")
    revoke.set_defaults(func=cmd_keys_revoke)
    credit = sub.add_parser("credits", help="manage tenants' credits").add_subparsers(
        dest="credits", required=True
    )
    add = credit.add_parser("add", help="add credits to a tenant (by name or id)")
    add.add_argument("--tenant", required=True)
    add.add_argument("--amount", type=int, required=True)
    add.add_argument("--note", default="operator top-up")
    add.set_defaults(func=cmd_credits_add)
    users.add_parsers(sub)
    apps.add_parsers(sub)
    dispatch.add_parsers(sub)
    webhooks.add_parsers(sub)
    jobs.add_parsers(sub)
    systemd.add_parsers(sub)
    aud = sub.add_parser("audit", help="print the audit log")
    aud.add_argument("--tenant")
    aud.add_argument("--limit", type=int, default=100)
    aud.set_defaults(func=cmd_audit)
    for name, func in (("submit", cmd_submit), ("status", cmd_status)):
        cmd = sub.add_parser(name, help=f"{name} a job over the API")
        cmd.add_argument("--api-url")
        cmd.add_argument("--api-key")
        cmd.add_argument("--wait", action="store_true", help="show progress until the job ends")
        cmd.add_argument("--timeout", type=float, default=3600)
        cmd.set_defaults(func=func)
    submit = sub.choices["submit"]
    submit.add_argument("kind")
    submit.add_argument("--params", default="{}", help="JSON object")
    submit.add_argument("--file", help="upload this file as the input")
    submit.add_argument("--url", help="the input's URL")
    submit.add_argument("--callback-url")
    sub.choices["status"].add_argument("job_id")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
