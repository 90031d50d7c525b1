"""Redis stopped for ten seconds in the middle of a burst of submissions."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.farm import Farm, RedisServer
from tests.integration.conftest import FAST_SETTINGS

OUTAGE_S = 10


@pytest.fixture
def own_farm(tmp_path, own_database_url: str | None) -> Iterator[Farm]:  # type: ignore[no-untyped-def]
    """A farm on a Redis of its own, which this test may stop."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    farm = Farm(tmp_path, server.url, own_database_url, **FAST_SETTINGS)
    farm.redis_server = server  # type: ignore[attr-defined]
    farm.migrate()
    try:
        farm.start_roles(short=1)
        yield farm
    finally:
        farm.stop_all()
        server.stop()


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

    accepted = [r for r in responses if isinstance(r, requests.Response) and r.status_code == 202]
    refused = [r for r in responses if r not in accepted]
    assert during_end > during_start, "no submission was attempted during the outage"
    for r in refused:
        assert isinstance(r, requests.Response), f"no HTTP answer: {r}"
        assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
    ids = [r.json()["id"] for r in accepted]
    deadline = time.monotonic() + 120
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        pending = {i for i in pending if api.job(i)["state"] != "succeeded"}
        time.sleep(0.5)
    assert not pending, (
        f"{len(pending)} of {len(ids)} accepted jobs did not succeed: {sorted(pending)[:5]}"
    )
    during = during_end - during_start
    print(f"accepted {len(accepted)}, refused {len(refused)}, sent during the outage {during}")
