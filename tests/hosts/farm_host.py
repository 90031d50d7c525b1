"""One farm host of the multi-host tier: a network namespace, a hostname, a var dir of
its own, and the `jobfarm` roles it runs, each unable to see any other host's files."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import requests
from celery import Celery

from tests.farm import JOBFARM, wait_until
from tests.hosts.network import Namespace

# Runs inside the host's namespace, in mount and UTS namespaces of its own: names the
# host, covers every path given before `--` with an empty read-only tmpfs, then execs
# the role. Arguments: hostname, hidden paths..., --, argv.
HOST_SHELL = """
set -e
hostname "$1"; shift
while [ "$1" != "--" ]; do mount -t tmpfs -o ro,mode=0555 jobfarm-elsewhere "$1"; shift; done
shift
exec "$@"
"""


class FarmHost:
    """A host's processes share its environment (the farm's, plus its own var dir and
    address); `hidden` lists the paths its processes must not see: the other hosts'
    directories and the services' data."""

    def __init__(
        self,
        name: str,
        space: Namespace,
        root: Path,
        env: dict[str, str],
        logs: Path,
        hidden: list[Path],
    ) -> None:
        self.name = name
        self.space = space
        self.root = root
        self.var_dir = root / "var"
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.logs = logs
        self.hidden = hidden
        self.env = {**env, "JOBFARM_VAR_DIR": str(self.var_dir), "JOBFARM_HOST": space.address}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def command_argv(self, *command: str) -> list[str]:
        """`command` as run on this host: in its network namespace, under its hostname,
        with the hidden paths covered."""
        unshare = ["unshare", "--mount", "--uts", "--propagation", "private", "--"]
        shell = ["sh", "-c", HOST_SHELL, "sh", self.name, *map(str, self.hidden), "--"]
        return [*self.space.exec_prefix(), *unshare, *shell, *command]

    def start(self, role: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{self.name}-{role}.log").open("ab")
        process = subprocess.Popen(
            self.command_argv(JOBFARM, *args),
            env=self.env,
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[role] = process
        return process

    def start_web(self, port: int) -> str:
        """The API on this host's address; returns its base URL (it may not answer yet)."""
        self.env["JOBFARM_PORT"] = str(port)
        self.start("web", "web")
        return f"http://{self.space.address}:{port}"

    def start_worker(self, role: str, concurrency: int) -> str:
        """A worker of `role`; returns its Celery node name (it may not answer yet)."""
        args = ("worker", "--role", role, "--concurrency", str(concurrency))
        process = self.start(f"worker-{role}", *args)
        return f"{role}-{process.pid}@{self.name}"

    def kill(self, sig: int = signal.SIGKILL, grace_s: float = 15) -> None:
        """Send `sig` to every process group of this host, then SIGKILL what is still
        there after `grace_s`, and reap them all."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, sig)
        deadline = time.monotonic() + grace_s
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def stop(self) -> None:
        """Stop every role: SIGTERM (a warm shutdown), SIGKILL for what stays."""
        self.kill(signal.SIGTERM)


def wait_for_nodes(redis_url: str, nodes: list[str], timeout_s: float = 90) -> None:
    """Return once every Celery node in `nodes` answers a ping through `redis_url`."""
    control = Celery(broker=redis_url).control

    def all_answer() -> bool:
        answered = {name for reply in control.ping(destination=nodes, timeout=1) for name in reply}
        return answered >= set(nodes)

    wait_until(all_answer, timeout_s, f"workers {', '.join(nodes)} to answer")


def wait_for_api(base_url: str, timeout_s: float = 60) -> None:
    wait_until(lambda: answers(base_url + "/healthz"), timeout_s, f"the API at {base_url}")


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code in (200, 503)
    except requests.RequestException:
        return False
