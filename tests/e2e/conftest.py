"""The farm started as a user starts it: `jobfarm up`, in a fresh directory, on free ports."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.farm import AGENT_ACCESS_KEY, JOBFARM, free_port, run_jobfarm, wait_until

FLOWER_AUTH = ("ops", "e2e-flower-password")


@dataclass
class RunningFarm:
    root: Path
    env: dict[str, str]
    api_url: str
    flower_url: str
    redis_port: int
    process: subprocess.Popen[bytes]

    def jobfarm(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_jobfarm(self.env, self.root, *args)

    def new_key(self, tenant: str) -> dict[str, str]:
        return dict(
            json.loads(
                self.jobfarm("keys", "create", "--tenant", tenant, "--json")
                .stdout.strip()
                .splitlines()[-1]
            )
        )


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def running_farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFarm]:
    root = tmp_path_factory.mktemp("e2e")
    port, flower_port, redis_port = free_port(), free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("JOBFARM_") and k not in ("REDIS_URL", "DATABASE_URL", "PORT")
    }
    env |= {
        "JOBFARM_PORT": str(port),
        "JOBFARM_FLOWER_PORT": str(flower_port),
        "JOBFARM_EMBEDDED_REDIS_PORT": str(redis_port),
        "JOBFARM_FLOWER_USER": FLOWER_AUTH[0],
        "JOBFARM_FLOWER_PASSWORD": FLOWER_AUTH[1],
        # As README's agent API section says: the farm starts with the key set.
        "AGENT_ACCESS_KEY": AGENT_ACCESS_KEY,
    }
    log = (root / "up.log").open("wb")
    process = subprocess.Popen(
        [JOBFARM, "up"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    farm = RunningFarm(
        root,
        env,
        f"http://127.0.0.1:{port}",
        f"http://127.0.0.1:{flower_port}",
        redis_port,
        process,
    )
    try:
        wait_until(lambda: _healthy(farm.api_url), 90, "the farm's API to be healthy")
        yield farm
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
    assert not port_open(redis_port), "jobfarm up left its embedded Redis running"


def _healthy(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False
