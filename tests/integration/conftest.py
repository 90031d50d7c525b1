"""The integration farm: real Redis, real SQL, real API, worker and beat processes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from storage.tenants import Credentials
from tests.conftest import fresh_postgres_database
from tests.farm import Api, Farm, RedisServer

# Short schedules so that retries, recovery and reconciling happen within a test.
FAST_SETTINGS = {
    "reconcile_interval_s": 1,
    "heartbeat_interval_s": 1,
    "stale_running_after_s": 8,
    "unsent_queued_after_s": 1,
    "lost_queued_after_s": 12,
    "progress_db_interval_s": 0.2,
    "retry_backoff_base_s": 0.2,
    "retry_backoff_max_s": 1,
    "webhook_retry_schedule_s": json.dumps([0.3, 0.6, 1.2, 2.4]),
    "webhook_jitter": 0.1,
    # The first retry rides a Celery countdown; later ones are left to beat's sweeper.
    "webhook_countdown_max_s": 0.5,
    # Whole-request deadlines reached within a test (a download's within noop's soft
    # limit, so that the download is what ends the attempt); one slot per
    # endpoint, so one slow receiver is seen to hold no more.
    "webhook_timeout_s": 4,
    "input_download_timeout_s": 4,
    "webhook_endpoint_concurrency": 1,
    "webhook_endpoint_busy_retry_s": 0.2,
    # An endpoint failing for 2 s is disabled; a rotated secret overlaps for 6 s.
    "webhook_disable_after_s": 2,
    "webhook_secret_overlap_s": 6,
    "kind_time_limits": json.dumps({"noop": {"soft_s": 6, "hard_s": 12}}),
    # Generous, so that a loaded machine still answers generate with the design itself.
    "design_wait_s": 90,
    # Every worker process sweeps killed runs' directories after each job.
    "work_sweep_s": 0,
    # Enough for every fixture; a job asking for more fails as out_of_memory.
    "job_memory_limit_mib": 1536,
    # A trickled body fails within a test: a JSON body past 3 s, an upload idle for 3 s
    # or, after that, slower than 1 KiB/s.
    "body_deadline_s": 3,
    "body_idle_timeout_s": 3,
}


@pytest.fixture(scope="session")
def farm(
    tmp_path_factory: pytest.TempPathFactory,
    redis_url: str,
    database_url: str | None,
    farm_blob_settings: dict[str, str],
    broker_settings: dict[str, str],
) -> Iterator[Farm]:
    settings = {**FAST_SETTINGS, **farm_blob_settings, **broker_settings}
    farm = Farm(tmp_path_factory.mktemp("farm"), redis_url, database_url, **settings)
    farm.migrate()
    try:
        farm.start_roles()
        yield farm
    finally:
        farm.stop_all()


@dataclass
class Tenant:
    creds: Credentials
    api: Api


@pytest.fixture
def make_tenant(farm: Farm) -> Iterator[object]:
    """A factory of tenants, each with its own API key and client."""
    made: list[Api] = []

    def make(name: str | None = None) -> Tenant:
        creds = farm.create_key(name or f"tenant-{uuid.uuid4().hex[:8]}")
        api = farm.client(creds.api_key)
        made.append(api)
        return Tenant(creds, api)

    yield make
    for api in made:
        api.close()


@pytest.fixture
def tenant(make_tenant) -> Tenant:  # type: ignore[no-untyped-def]
    return make_tenant()  # type: ignore[no-any-return]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@contextmanager
def farm_of_its_own(root: Path, **settings: Any) -> Iterator[Farm]:
    """A migrated farm with `FAST_SETTINGS` (and `settings` over them) on a Redis of its
    own and a fresh PostgreSQL database (SQLite without JOBFARM_TEST_POSTGRES_URL); the
    test starts its processes, and everything is stopped afterwards."""
    server = RedisServer(root / "redis")
    server.start()
    with fresh_postgres_database() as database_url:
        farm = Farm(root, server.url, database_url, **{**FAST_SETTINGS, **settings})
        farm.migrate()
        try:
            yield farm
        finally:
            farm.stop_all()
            server.stop()
