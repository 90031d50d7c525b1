"""The chaos tier: the farm on services of its own, so that the driver may kill them.

    a PostgreSQL cluster of its own   (restarted by the driver: crash and recovery)
    a redis-server without persistence (killed and started empty: every message lost)
    var/blobs on a small tmpfs         (filled to the last byte now and then)
    the API, beat and a worker per role, as `jobfarm up`'s Procfile starts them
    one webhook receiver for every job (taken down, or answering 503, now and then)

It runs only when named (`pytest tests/chaos`; .ci/run does) and needs root (the tmpfs
mount, the cluster run as `postgres`); elsewhere it skips, saying why.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.chaos.load import Client
from tests.chaos.receiver import FlappingReceiver
from tests.farm import Farm, RedisServer, free_port
from tests.hosts.postgres import PrivateCluster, why_cluster_cannot_be_made
from tests.integration.conftest import FAST_SETTINGS

FIXTURE = Path(__file__).parents[1] / "fixtures" / "cad" / "fuze.obj"
# The blob disk: small, so that filling it is quick. The soak keeps every output of its
# 10,000 jobs (retention is days), which a small disk would run out of for good: not the
# moment of a full disk the faults inject.
BLOB_DISK_MIB = int(
    os.environ.get("JOBFARM_CHAOS_BLOB_MIB")
    or (2048 if int(os.environ.get("JOBFARM_SOAK_JOBS") or 0) > 0 else 256)
)
TENANTS = 3
CREDITS_EACH = 1_000_000
VIDEO_COST = 3
CHAOS_SETTINGS = {
    **FAST_SETTINGS,
    # A job's retries span longer than the disk stays full (2.5 s at most).
    "retry_backoff_base_s": 0.5,
    "retry_backoff_max_s": 4,
    # Long enough to outlast a receiver's longest absence many times over.
    "webhook_retry_schedule_s": json.dumps([0.5, 1, 2, 4, 8, 8, 8, 8, 8, 8]),
}


def why_chaos_cannot_run() -> str | None:
    if os.geteuid() != 0:
        return "the chaos tier mounts a tmpfs and runs PostgreSQL as `postgres`: needs root"
    return why_cluster_cannot_be_made()


@dataclass
class ChaosFarm:
    farm: Farm
    cluster: PrivateCluster
    redis_server: RedisServer
    receiver: FlappingReceiver
    blob_dir: Path
    clients: list[Client]


def mount_tmpfs(path: Path, mib: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mib}m", "tmpfs", str(path)], check=True)


def client_of(farm: Farm, tenant: str) -> tuple[Client, str]:
    creds = farm.create_key(tenant)
    added = farm.jobfarm(
        "credits", "add", "--tenant", creds.tenant_id, "--amount", str(CREDITS_EACH)
    )
    assert added.returncode == 0, added.stderr
    auth = {"Authorization": f"Bearer {creds.api_key}"}
    model: dict[str, object] = {"name": "local", "provider": "local", "model_name": "local"}
    model["credits_cost"] = VIDEO_COST
    answer = requests.post(f"{farm.base_url}/api/v1/models", json=model, headers=auth, timeout=10)
    assert answer.status_code == 200, answer.text
    model_id = int(answer.json()["data"]["id"])
    uploaded = requests.post(
        f"{farm.base_url}/v1/files",
        params={"name": FIXTURE.name},
        data=FIXTURE.read_bytes(),
        headers=auth,
        timeout=30,
    )
    assert uploaded.status_code == 201, uploaded.text
    client = Client(creds.tenant_id, creds.api_key, model_id, str(uploaded.json()["id"]))
    return client, creds.webhook_secret


@pytest.fixture
def chaos_farm(tmp_path: Path) -> Iterator[ChaosFarm]:
    why = why_chaos_cannot_run()
    if why:
        pytest.skip(why)
    blob_dir = tmp_path / "var" / "blobs"
    mount_tmpfs(blob_dir, BLOB_DISK_MIB)
    cluster = PrivateCluster("127.0.0.1", free_port(), "127.0.0.1/32", crash_safe=True)
    redis_server = RedisServer(tmp_path / "redis", persistent=False)
    receiver = FlappingReceiver(free_port())
    farm = None
    try:
        cluster.start()
        redis_server.start()
        receiver.up()
        farm = Farm(tmp_path, redis_server.url, cluster.url, **CHAOS_SETTINGS)
        farm.migrate()
        farm.start_roles()
        made = [client_of(farm, f"chaos-{n}") for n in range(TENANTS)]
        receiver.secrets = {client.tenant_id: secret for client, secret in made}
        yield ChaosFarm(
            farm,
            cluster,
            redis_server,
            receiver,
            blob_dir,
            [client for client, _ in made],
        )
    finally:
        if farm is not None:
            farm.stop_all()
        receiver.down()
        redis_server.stop()
        cluster.stop()
        subprocess.run(["umount", "--lazy", str(blob_dir)], check=False)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.chaos)
