"""A webhook's body is built at each attempt: a retry made after the first attempt's
download URL expired carries a URL signed for the retry, which downloads."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests
from standardwebhooks import Webhook

from tests.farm import Farm, RedisServer, wait_until
from tests.integration.conftest import FAST_SETTINGS
from tests.integration.test_fractal3d import FIXTURES, Fractal3d
from tests.receiver import WebhookReceiver

# Download URLs live 5 s; the one retry comes 8 s after the first attempt failed.
URL_TTL_S = 5
RETRY_AFTER_S = 8
SHORT_LINKS = {
    "signed_url_ttl_s": URL_TTL_S,
    "webhook_retry_schedule_s": json.dumps([RETRY_AFTER_S]),
    "webhook_jitter": 0,
}


@pytest.fixture(scope="module")
def short_links_farm(tmp_path_factory, own_database_url: str | None) -> Iterator[Farm]:  # type: ignore[no-untyped-def]
    """A farm whose links expire in seconds, on a Redis of its own: no other farm's
    workers take its messages. Beat's sweeper makes the retry (past the countdown cap)."""
    root = tmp_path_factory.mktemp("short-links")
    server = RedisServer(root / "redis")
    server.start()
    farm = Farm(root, server.url, own_database_url, **(FAST_SETTINGS | SHORT_LINKS))
    farm.migrate()
    try:
        farm.start_roles(long=1, short=1)
        yield farm
    finally:
        farm.stop_all()
        server.stop()


def test_a_retry_after_the_first_link_expired_carries_a_link_that_downloads(
    short_links_farm: Farm,
) -> None:
    creds = short_links_farm.create_key("short-links")
    client = Fractal3d(short_links_farm.base_url, creds.api_key)
    file_id = client.upload_ok(FIXTURES / "ballA.off")
    with WebhookReceiver(script=[500]) as receiver:
        transaction_id = client.start(
            "/converts",
            {
                "file_id": file_id,
                "file_name": "ballA.off",
                "target_format": "e3dx",
                "webhook_url": receiver.url,
            },
        )
        wait_until(receiver.successes, 120, "the retried webhook")
        retry_received_at = time.time()

    first, retry = receiver.received
    bodies = [Webhook(creds.webhook_secret).verify(r.body, r.headers) for r in (first, retry)]
    assert (first.answered, retry.answered) == (500, 200)
    assert first.headers["webhook-id"] == retry.headers["webhook-id"]
    assert [b["transaction_id"] for b in bodies] == [transaction_id] * 2
    assert [b["status"] for b in bodies] == ["Succeeded"] * 2
    glb = requests.get(bodies[1]["url"], timeout=30)
    assert time.time() - retry_received_at < URL_TTL_S, "too slow to check the retry's link"
    assert glb.status_code == 200
    assert glb.content[:4] == b"glTF"
    assert requests.get(bodies[0]["url"], timeout=30).status_code == 403
