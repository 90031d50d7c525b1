"""`jobfarm up`: the whole farm on one machine, embedded defaults where no URLs are set."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from config.settings import Settings
from storage.migrate import upgrade
from workers.embedded_redis import start_embedded_redis


def find_procfile(given: str | None) -> Path:
    if given:
        return Path(given)
    local = Path("Procfile")
    return local if local.is_file() else Path(__file__).resolve().parents[1] / "Procfile"


def farm_env(settings: Settings, redis_url: str) -> dict[str, str]:
    """The environment every role inherits: the same Redis, database, var dir and URLs."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "REDIS_URL": redis_url,
        "DATABASE_URL": settings.database_url or settings.sql_url,
        "JOBFARM_VAR_DIR": str(settings.var_dir.resolve()),
        "JOBFARM_PUBLIC_BASE_URL": settings.base_url,
        "JOBFARM_PORT": str(settings.port),
        "PYTHONUNBUFFERED": "1",
    }


def banner(settings: Settings, redis_url: str, embedded: bool) -> str:
    where = "embedded, " + str(settings.var_dir / "redis") if embedded else "external"
    return "\n".join(
        [
            "jobfarm is starting:",
            f"  API      {settings.base_url}  (OpenAPI: {settings.base_url}/docs)",
            f"  Flower   http://{settings.host}:{settings.flower_port}"
            f"  (user {settings.flower_user})",
            f"  Redis    {redis_url}  ({where})",
            f"  Database {settings.sql_url.split('@')[-1]}",
            "Create an API key: jobfarm keys create --tenant NAME",
        ]
    )


def run_up(settings: Settings, procfile: str | None = None) -> int:
    """Start Redis if needed, migrate, then run the Procfile's roles until interrupted."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    redis_process = None
    if not settings.redis_url:
        redis_process = start_embedded_redis(
            settings.embedded_redis_port, settings.var_dir / "redis"
        )
    redis_url = settings.redis_server_url
    try:
        upgrade(settings.sql_url)
        print(banner(settings, redis_url, redis_process is not None), flush=True)
        return run_procfile(find_procfile(procfile), settings, farm_env(settings, redis_url))
    finally:
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(timeout=15)


def run_procfile(procfile: Path, settings: Settings, env: dict[str, str]) -> int:
    argv = [
        sys.executable,
        "-m",
        "honcho",
        "start",
        "-f",
        str(procfile),
        "-d",
        os.getcwd(),
        "-p",
        str(settings.port),
    ]
    honcho = subprocess.Popen(argv, env=env)

    def forward(signum: int, _frame: object) -> None:
        honcho.send_signal(signal.SIGTERM if signum == signal.SIGTERM else signal.SIGINT)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return honcho.wait()
