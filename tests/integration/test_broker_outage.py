"""RabbitMQ restarted in the middle of a burst of submissions, with long jobs running.
Runs when JOBFARM_TEST_AMQP_URL names the broker and JOBFARM_TEST_RESTART_BROKER=1 allows
restarting it (CI: the machine's RabbitMQ, in a pytest run of its own, since the restart
drops every connection, the session farm's too)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.farm import Farm
from tests.integration.test_redis_outage import (
    accepted_ids,
    farm_on_own_redis,
    submit_burst,
    wait_all_succeeded,
)
from tests.rabbit import amqp_admin_url, fresh_vhost, restart_broker, why_rabbitmqctl_cannot_run

pytestmark = pytest.mark.skipif(
    amqp_admin_url() is None or os.environ.get("JOBFARM_TEST_RESTART_BROKER") != "1",
    reason="restarts RabbitMQ: needs JOBFARM_TEST_AMQP_URL and JOBFARM_TEST_RESTART_BROKER=1",
)


@pytest.fixture
def amqp_farm(tmp_path: Path, own_database_url: str | None) -> Iterator[Farm]:
    """A farm whose Celery broker is a RabbitMQ vhost of its own (Redis of its own too)."""
    admin_url = amqp_admin_url()
    assert admin_url is not None
    why = why_rabbitmqctl_cannot_run()
    if why:
        pytest.fail(f"JOBFARM_TEST_AMQP_URL is set, but {why}")
    with (
        fresh_vhost(admin_url) as broker_url,
        farm_on_own_redis(tmp_path, own_database_url, broker_url=broker_url) as (farm, _),
    ):
        yield farm


def test_every_accepted_job_succeeds_once_across_a_broker_restart(amqp_farm: Farm) -> None:
    api = amqp_farm.client(amqp_farm.create_key("broker-restart").api_key)
    # Two long jobs hold the slots through the restart: acknowledged late, each must
    # still run to one success (a redelivery after the restart is dropped at its claim).
    long_ids = [api.submit(params={"cpu_seconds": 2})["id"] for _ in range(2)]
    responses: list = []  # type: ignore[type-arg]
    stop = threading.Event()
    burst = threading.Thread(target=submit_burst, args=(api, stop, responses))
    burst.start()
    try:
        time.sleep(1)  # submissions while the broker is up
        before = len(responses)
        restart_broker()
        during = len(responses) - before
        time.sleep(1)  # submissions after it is back
    finally:
        stop.set()
        burst.join()

    accepted = accepted_ids(responses)
    assert during > 0, "no submission was made while the broker restarted"
    wait_all_succeeded(api, long_ids + accepted)
    attempts = {i: api.job(i)["attempts"] for i in long_ids}
    assert all(a <= 2 for a in attempts.values()), attempts
    print(f"accepted {len(accepted)} of {len(responses)}, sent during the restart {during}")
