"""Redis stopped for ten seconds in the middle of a burst of submissions."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.farm import Farm, RedisServer
from tests.integration.conftest import FAST_SETTINGS

OUTAGE_S = 10


@contextmanager
def farm_on_own_redis(
    root: Path, database_url: str | None, **settings: Any
) -> Iterator[tuple[Farm, RedisServer]]:
    """A farm (API, workers, beat) on a Redis server of its own, which the test may stop."""
    server = RedisServer(root / "redis")
    server.start()
    farm = Farm(root, server.url, database_url, **FAST_SETTINGS, **settings)
    farm.migrate()
    try:
        farm.start_roles(short=1)
        yield farm, server
    finally:
        farm.stop_all()
        server.stop()


@pytest.fixture
def own_farm(tmp_path: Path, own_database_url: str | None) -> Iterator[Farm]:
    with farm_on_own_redis(tmp_path, own_database_url) as (farm, server):
        farm.redis_server = server  # type: ignore[attr-defined]
        yield farm


def submit_burst(api, stop: threading.Event, out: list) -> None:  # type: ignore[no-untyped-def]
    while not stop.is_set():
        try:
            response = api.post("/v1/jobs", json={"kind": "noop", "params": {"cpu_seconds": 0.05}})
            out.append(response)
        except requests.RequestException as exc:
            out.append(exc)
        time.sleep(0.05)  # paces the burst; a client's think time, not a wait for work


def test_every_accepted_job_succeeds_across_a_redis_outage(own_farm: Farm) -> None:
    api = own_farm.client(own_farm.create_key("outage").api_key)
    server: RedisServer = own_farm.redis_server  # type: ignore[attr-defined]
    responses: list = []  # type: ignore[type-arg]
    stop = threading.Event()
    burst = threading.Thread(target=submit_burst, args=(api, stop, responses))
    burst.start()
    try:
        time.sleep(2)  # submissions while Redis is up
        server.stop()
        during_start = len(responses)
        time.sleep(OUTAGE_S)  # the outage itself
        during_end = len(responses)
        server.start()
        time.sleep(2)  # submissions after Redis is back
    finally:
        stop.set()
        burst.join()

    accepted = accepted_ids(responses)
    assert during_end > during_start, "no submission was attempted during the outage"
    wait_all_succeeded(api, accepted)
    during = during_end - during_start
    print(f"accepted {len(accepted)} of {len(responses)}, sent during the outage {during}")


def accepted_ids(responses: list) -> list[str]:  # type: ignore[type-arg]
    """The jobs of the 202 answers; every other answer must be a problem+json 503."""
    accepted = [r for r in responses if isinstance(r, requests.Response) and r.status_code == 202]
    for r in responses:
        if r not in accepted:
            assert isinstance(r, requests.Response), f"no HTTP answer: {r}"
            assert r.status_code == 503
            assert r.headers["content-type"] == "application/problem+json"
    return [r.json()["id"] for r in accepted]


def wait_all_succeeded(api, ids: list[str], timeout_s: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        pending = {i for i in pending if api.job(i)["state"] != "succeeded"}
        time.sleep(0.5)
    assert not pending, f"{len(pending)} of {len(ids)} jobs did not succeed: {sorted(pending)[:5]}"
