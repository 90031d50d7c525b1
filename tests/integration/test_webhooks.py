"""Webhook delivery through the real webhooks queue, verified with `standardwebhooks`."""

from __future__ import annotations

import json

from standardwebhooks import Webhook

from tests.farm import wait_until
from tests.receiver import WebhookReceiver


def verify(secret: str, received) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return Webhook(secret).verify(received.body, received.headers)  # type: ignore[no-any-return]


def test_callback_arrives_signed_and_verifies(tenant) -> None:
    with WebhookReceiver() as receiver:
        job = tenant.api.submit(params={"tag": "cb"}, callback_url=receiver.url)
        wait_until(receiver.successes, 30, "the callback")

    [hit] = receiver.received
    payload = verify(tenant.creds.webhook_secret, hit)
    assert payload["type"] == "job.succeeded"
    assert payload["data"]["id"] == job["id"]
    assert payload["data"]["result"]["params"] == {"tag": "cb"}


def test_receiver_failing_three_times_gets_four_attempts_and_one_success(tenant) -> None:
    with WebhookReceiver(script=[500, 500, 500]) as receiver:
        job = tenant.api.submit(callback_url=receiver.url)
        wait_until(receiver.successes, 30, "a successful delivery")
        [delivery] = wait_until(
            lambda: [
                d
                for d in tenant.api.get(
                    "/v1/webhooks/deliveries", params={"job_id": job["id"]}
                ).json()
                if d["status"] == "delivered"
            ],
            10,
            "the delivery to be marked delivered",
        )

    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 500, 200]
    assert [r.answered for r in receiver.received] == [500, 500, 500, 200]
    assert {r.headers["webhook-id"] for r in receiver.received} == {delivery["webhook_id"]}
    for hit in receiver.received:
        verify(tenant.creds.webhook_secret, hit)


def test_redeliver_sends_the_same_webhook_id_again(tenant) -> None:
    with WebhookReceiver() as receiver:
        job = tenant.api.submit(callback_url=receiver.url)
        wait_until(receiver.successes, 30, "the first delivery")
        [delivery] = tenant.api.get("/v1/webhooks/deliveries", params={"job_id": job["id"]}).json()
        response = tenant.api.post(f"/v1/webhooks/deliveries/{delivery['id']}/redeliver")
        assert response.status_code == 202
        wait_until(lambda: len(receiver.successes()) == 2, 30, "the redelivery")

    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert json.loads(first.body)["data"] == json.loads(second.body)["data"]
    verify(tenant.creds.webhook_secret, second)


def test_a_failed_job_posts_its_error(tenant) -> None:
    with WebhookReceiver() as receiver:
        tenant.api.submit(params={"fail": "permanent"}, callback_url=receiver.url)
        wait_until(receiver.successes, 30, "the callback")

    payload = verify(tenant.creds.webhook_secret, receiver.received[0])
    assert payload["type"] == "job.failed"
    assert payload["data"]["error"]["code"] == "permanent_error"


def test_another_tenants_delivery_cannot_be_redelivered(make_tenant) -> None:
    owner, stranger = make_tenant(), make_tenant()
    with WebhookReceiver() as receiver:
        job = owner.api.submit(callback_url=receiver.url)
        wait_until(receiver.successes, 30, "the callback")
    [delivery] = owner.api.get("/v1/webhooks/deliveries", params={"job_id": job["id"]}).json()

    assert (
        stranger.api.post(f"/v1/webhooks/deliveries/{delivery['id']}/redeliver").status_code == 404
    )
