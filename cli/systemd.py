"""`jobfarm systemd`: one systemd unit per role of the Procfile, as operators deploy.

Each unit runs its role's command from the Procfile with this installation's `jobfarm`,
as an unprivileged user, with the farm's settings from one environment file, restarted
whenever it ends. A worker's stop is Celery's warm shutdown (running jobs finish) up to
`--stop-timeout`; a job cut off there is recovered from SQL by the reconciler.

    jobfarm systemd --user jobfarm --env-file /etc/jobfarm/jobfarm.env --out /etc/systemd/system
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from cli.up import find_procfile

UNIT_PREFIX = "jobfarm-"
DESCRIPTIONS = {
    "web": "the HTTP API",
    "worker-short": "a worker for webhooks",
    "worker-long": "a worker for the job kinds",
    "worker-maintenance": "a worker for upkeep (reconciling, purging)",
    "beat": "the scheduler (exactly one per farm)",
    "flower": "the Flower dashboard",
}


@dataclass(frozen=True)
class Deployment:
    """Where and as whom the units run the farm."""

    jobfarm: Path
    user: str
    env_file: Path
    var_dir: Path
    stop_timeout_s: int


def procfile_roles(text: str) -> dict[str, str]:
    """role → command, in the Procfile's order (comments and blank lines skipped)."""
    roles = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        role, sep, command = line.partition(":")
        if not sep or not command.strip():
            raise ValueError(f"not a Procfile line: {line!r}")
        roles[role.strip()] = command.strip()
    return roles


def unit(role: str, command: str, where: Deployment) -> str:
    """The unit file of `role`, running `command` (a `jobfarm …` line of the Procfile)."""
    program, _, args = command.partition(" ")
    if program != "jobfarm":
        raise ValueError(f"role {role!r}: only `jobfarm …` commands are supported: {command!r}")
    what = DESCRIPTIONS.get(role, role)
    return "\n".join(
        [
            "[Unit]",
            f"Description=jobfarm {role}: {what}",
            "Wants=network-online.target",
            "After=network-online.target",
            "",
            "[Service]",
            "Type=exec",
            f"User={where.user}",
            f"Group={where.user}",
            f"EnvironmentFile={where.env_file}",
            f"Environment=JOBFARM_VAR_DIR={where.var_dir}",
            f"WorkingDirectory={where.var_dir}",
            f"ExecStart={where.jobfarm} {args}".rstrip(),
            "Restart=always",
            "RestartSec=2",
            # SIGTERM to the main process first: Celery's warm shutdown, uvicorn's drain.
            "KillMode=mixed",
            f"TimeoutStopSec={where.stop_timeout_s}",
            "LimitNOFILE=65536",
            "NoNewPrivileges=yes",
            "PrivateTmp=yes",
            "ProtectSystem=strict",
            "ProtectHome=read-only",
            f"ReadWritePaths={where.var_dir}",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )


def units(procfile_text: str, where: Deployment) -> dict[str, str]:
    """file name → unit text, for every role of the Procfile."""
    return {
        f"{UNIT_PREFIX}{role}.service": unit(role, command, where)
        for role, command in procfile_roles(procfile_text).items()
    }


def cmd_systemd(args: argparse.Namespace) -> int:
    where = Deployment(
        jobfarm=Path(sys.executable).parent / "jobfarm",
        user=args.user,
        env_file=Path(args.env_file),
        var_dir=Path(args.var_dir),
        stop_timeout_s=args.stop_timeout,
    )
    made = units(find_procfile(args.procfile).read_text(), where)
    roles = set(args.role or [])
    chosen = {name: text for name, text in made.items() if not roles or _role(name) in roles}
    if roles - {_role(name) for name in made}:
        print(f"no such role in the Procfile: {sorted(roles)}", file=sys.stderr)
        return 2
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name, text in chosen.items():
            (out / name).write_text(text)
            print(out / name)
        return 0
    for name, text in chosen.items():
        print(f"# {name}\n{text}")
    return 0


def _role(file_name: str) -> str:
    return file_name.removeprefix(UNIT_PREFIX).removesuffix(".service")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser("systemd", help="print (or write) a systemd unit per role")
    cmd.add_argument("--role", action="append", help="only this role (repeatable)")
    cmd.add_argument("--procfile", help="the Procfile whose roles to use (default: ./Procfile)")
    cmd.add_argument("--user", default="jobfarm", help="the user the services run as")
    cmd.add_argument("--env-file", default="/etc/jobfarm/jobfarm.env", help="the settings")
    cmd.add_argument("--var-dir", default="/var/lib/jobfarm", help="JOBFARM_VAR_DIR")
    cmd.add_argument("--stop-timeout", type=int, default=300, help="seconds of warm shutdown")
    cmd.add_argument("--out", help="write the unit files into this directory")
    cmd.set_defaults(func=cmd_systemd)
