"""The Procfile's roles: each one execs its server, configured from the settings."""

from __future__ import annotations

import os
import sys

from config.celery import LONG_QUEUES, MAINTENANCE_QUEUES, SHORT_QUEUES
from config.settings import Settings

ROLE_QUEUES = {"short": SHORT_QUEUES, "long": LONG_QUEUES, "maintenance": MAINTENANCE_QUEUES}


def celery_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "workers.app", *args]


def worker_argv(settings: Settings, role: str, concurrency: int | None = None) -> list[str]:
    """A worker for the short queue (webhooks), the long ones (the job kinds) or the
    maintenance one (reconciling, purging)."""
    default = {
        "short": settings.worker_concurrency_short,
        "long": settings.worker_concurrency_long,
        "maintenance": settings.worker_concurrency_maintenance,
    }[role]
    statedb = settings.var_dir.resolve() / f"worker-{role}.state"
    # Without the flag, task events wait for Flower's `enable_events`, which it repeats
    # every 5 s while it runs.
    events = ["--task-events"] if settings.task_events else []
    return celery_argv(
        "worker",
        "--queues",
        ",".join(ROLE_QUEUES[role]),
        "--concurrency",
        str(concurrency or default),
        # The pid keeps node names unique when one host runs several workers of a role.
        "--hostname",
        f"{role}-{os.getpid()}@%h",
        *events,
        "--without-gossip",
        "--without-mingle",
        "--statedb",
        str(statedb),
        "--loglevel",
        settings.log_level,
    )


def beat_argv(settings: Settings) -> list[str]:
    schedule = settings.var_dir.resolve() / "celerybeat-schedule"
    return celery_argv("beat", "--schedule", str(schedule), "--loglevel", settings.log_level)


def flower_argv(settings: Settings) -> list[str]:
    return celery_argv(
        "flower",
        f"--address={settings.host}",
        f"--port={settings.flower_port}",
        "--persistent=True",
        f"--db={settings.var_dir.resolve() / 'flower.db'}",
    )


def flower_env(settings: Settings) -> dict[str, str]:
    # Credentials go through the environment, not argv, which `ps` shows to everyone.
    return {**os.environ, "FLOWER_BASIC_AUTH": f"{settings.flower_user}:{settings.flower_password}"}


def exec_role(argv: list[str], env: dict[str, str] | None = None) -> None:
    """Replace this process with the role's server, so signals reach it directly."""
    sys.stdout.flush()
    os.execve(argv[0], argv, env or dict(os.environ))
