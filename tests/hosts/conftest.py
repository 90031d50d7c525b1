"""The multi-host tier: the farm as separate hosts in network namespaces of its own.

    test's namespace (10.x.y.1, a bridge): Redis, PostgreSQL, SeaweedFS S3, the webhook receiver
      ├── veth ── api       (10.x.y.2): jobfarm web, beat, worker --role maintenance
      ├── veth ── worker-a  (10.x.y.3): jobfarm worker --role long, --role short
      ├── veth ── worker-b  (10.x.y.4): jobfarm worker --role long, --role short
      └── veth ── worker-c  (10.x.y.5): the same, started by the test that kills it

Every host has its own hostname, its own var dir, and a mount namespace in which the
other hosts' directories and the services' data are covered by empty read-only mounts:
hosts share nothing but the network. Blobs live in S3. The tier skips, saying why,
where namespaces, a PostgreSQL cluster or the `weed` binary cannot be had.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage import tenants
from storage.db import get_engine, session_scope
from storage.migrate import upgrade
from tests.farm import AGENT_ACCESS_KEY, Api, RedisServer, free_port
from tests.hosts.farm_host import FarmHost, wait_for_api, wait_for_nodes
from tests.hosts.network import PrivateNetwork, why_namespaces_cannot_be_made
from tests.hosts.postgres import PrivateCluster, why_cluster_cannot_be_made
from tests.receiver import WebhookReceiver
from tests.s3 import SeaweedS3, why_weed_cannot_run

WORKER_HOSTS = ("worker-a", "worker-b")
# A third worker host, made with the others (so that theirs hide its files and its
# theirs) but started only by the test that kills it.
SPARE_HOST = "worker-c"
LONG_CONCURRENCY = 4
SHORT_CONCURRENCY = 2
# A run lost with its host is recovered within seconds: beats every second, stale after
# 6 s, reconciled every second. Jobs get time limits far above their length, so that a
# loaded machine slows them without failing them.
TIER_SETTINGS = {
    "profile": "prod",
    # The receiver is on the private subnet, which the prod guard refuses by design.
    "ssrf_guard": "false",
    "url_signing_secret": "hosts-url-signing-secret-0123",
    "access_token_secret": "hosts-access-token-secret-0123",
    "model_key_secret": "hosts-model-key-secret-0123456",
    "content_jwt_secret": "hosts-content-jwt-secret-01234",
    "flower_password": "hosts-flower-password-0123456",
    "heartbeat_interval_s": "1",
    "stale_running_after_s": "6",
    "reconcile_interval_s": "1",
    "unsent_queued_after_s": "1",
    "lost_queued_after_s": "12",
    "progress_db_interval_s": "0.5",
    "webhook_retry_schedule_s": json.dumps([0.5, 1, 2, 4]),
    "webhook_jitter": "0.1",
    "webhook_countdown_max_s": "1",
    "kind_time_limits": json.dumps({"noop": {"soft_s": 120, "hard_s": 150}}),
    "work_sweep_s": "0",
    "log_level": "INFO",
}


@dataclass
class MultiHostFarm:
    """The running tier: its network, services, hosts and the API's address."""

    network: PrivateNetwork
    hosts: dict[str, FarmHost]
    api_url: str
    database_url: str
    redis_url: str
    s3: SeaweedS3
    bucket: str
    receiver: WebhookReceiver

    def create_key(self, tenant: str) -> tenants.Credentials:
        with session_scope(self.database_url) as session:
            return tenants.create_key(session, tenant)

    def client(self, api_key: str) -> Api:
        return Api(self.api_url, api_key)

    def start_worker_roles(self, host: str) -> None:
        """A long and a short worker on `host`, returned once both answer."""
        nodes = start_workers(self.hosts[host])
        wait_for_nodes(self.redis_url, nodes)


def start_workers(host: FarmHost) -> list[str]:
    """`host`'s long and short workers; their node names (they may not answer yet)."""
    return [
        host.start_worker(role, concurrency)
        for role, concurrency in (("long", LONG_CONCURRENCY), ("short", SHORT_CONCURRENCY))
    ]


def skip_reason() -> str | None:
    return why_namespaces_cannot_be_made() or why_cluster_cannot_be_made() or why_weed_cannot_run()


def host_env(services: dict[str, str]) -> dict[str, str]:
    """Every host's environment: this one's without farm settings, plus the farm's."""
    dropped = ("REDIS_URL", "DATABASE_URL", "PORT")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBFARM_") and k not in dropped}
    settings = {f"JOBFARM_{k.upper()}": v for k, v in {**TIER_SETTINGS, **services}.items()}
    return {**env, "AGENT_ACCESS_KEY": AGENT_ACCESS_KEY, **settings}


def shut_down(host: FarmHost, network: PrivateNetwork) -> None:
    """Stop `host`'s roles; one cut off the network cannot finish a warm shutdown and
    is killed."""
    if network.is_cut(host.name):
        host.kill()
    else:
        host.stop()


@pytest.fixture(scope="module")
def multi_host_farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MultiHostFarm]:
    """Three hosts and the shared services, started, and a spare host; everything made
    is undone on the way out (processes killed, namespaces, veths and bridge deleted),
    whatever failed."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("hosts")
    services_dir, logs = root / "services", root / "logs"
    logs.mkdir()
    with ExitStack() as undo:
        network = PrivateNetwork()
        undo.callback(network.destroy)
        network.create_bridge()
        spaces = {name: network.add_host(name) for name in ("api", *WORKER_HOSTS, SPARE_HOST)}
        address = network.services_address

        redis_server = RedisServer(services_dir / "redis", bind=address)
        undo.callback(redis_server.stop)
        redis_server.start()
        postgres = PrivateCluster(address, free_port(), str(network.subnet))
        undo.callback(postgres.stop)
        postgres.start()
        s3 = SeaweedS3(services_dir / "seaweedfs", address)
        undo.callback(s3.stop)
        s3.start()
        bucket = s3.new_bucket()
        receiver = undo.enter_context(WebhookReceiver(host=address))

        upgrade(postgres.url)
        undo.callback(get_engine(postgres.url).dispose)
        env = host_env(
            {"redis_url": redis_server.url, "database_url": postgres.url}
            | s3.settings(bucket, "blobs")
        )
        host_roots = {name: root / "hosts" / name for name in spaces}
        hosts = {
            name: FarmHost(
                name,
                space,
                host_roots[name],
                env,
                logs,
                hidden=[
                    services_dir,
                    logs,
                    postgres.root,
                    *(path for other, path in host_roots.items() if other != name),
                ],
            )
            for name, space in spaces.items()
        }
        for host in hosts.values():
            undo.callback(shut_down, host, network)
        services_dir.mkdir(exist_ok=True)
        api_url = hosts["api"].start_web(free_port())
        hosts["api"].start("beat", "beat")
        # Upkeep (the reconciler that takes lost runs back) on the scheduler host, beside beat.
        nodes = [hosts["api"].start_worker("maintenance", 1)]
        nodes += [node for name in WORKER_HOSTS for node in start_workers(hosts[name])]
        wait_for_api(api_url)
        wait_for_nodes(redis_server.url, nodes)
        yield MultiHostFarm(
            network, hosts, api_url, postgres.url, redis_server.url, s3, bucket, receiver
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.hosts)
