"""Webhook endpoints through the real farm: fan-out, disabling, the dead-letter list,
replay, secret rotation, tenant isolation and bad input; verified with `standardwebhooks`."""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from storage import audit
from storage.db import read_scope
from tests.farm import Api, free_port, wait_until
from tests.receiver import Received, WebhookReceiver

ENDPOINTS = "/v1/webhooks/endpoints"
PROBLEM_JSON = "application/problem+json"


def create_endpoint(api: Api, url: str, **body: Any) -> dict[str, Any]:
    response = api.post(ENDPOINTS, json={"url": url, **body})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def endpoint(api: Api, endpoint_id: str) -> dict[str, Any]:
    response = api.get(f"{ENDPOINTS}/{endpoint_id}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def wait_disabled(api: Api, endpoint_id: str) -> dict[str, Any]:
    def disabled() -> dict[str, Any] | None:
        found = endpoint(api, endpoint_id)
        return None if found["enabled"] else found

    return wait_until(disabled, 60, f"endpoint {endpoint_id} to be disabled")  # type: ignore[no-any-return]


def deliveries(api: Api, **params: str) -> list[dict[str, Any]]:
    response = api.get("/v1/webhooks/deliveries", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def verify(secret: str, hit: Received) -> dict[str, Any]:
    return Webhook(secret).verify(hit.body, hit.headers)  # type: ignore[no-any-return]


def signatures(hit: Received) -> list[str]:
    return hit.headers["webhook-signature"].split(" ")


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def finished_job(api: Api, **body: Any) -> dict[str, Any]:
    job = api.submit(**body)
    api.wait_final(job["id"])
    return job


def test_an_event_goes_to_every_matching_endpoint_beside_the_callback_url(tenant) -> None:
    with (
        WebhookReceiver() as callback,
        WebhookReceiver() as every,
        WebhookReceiver() as failures_only,
    ):
        all_events = create_endpoint(tenant.api, every.url)
        create_endpoint(tenant.api, failures_only.url, event_types=["job.failed"])
        job = finished_job(tenant.api, callback_url=callback.url)
        wait_until(lambda: callback.successes() and every.successes(), 30, "both deliveries")

    assert verify(tenant.creds.webhook_secret, callback.received[0])["data"]["id"] == job["id"]
    assert verify(all_events["secret"], every.received[0])["type"] == "job.succeeded"
    with pytest.raises(WebhookVerificationError):
        verify(tenant.creds.webhook_secret, every.received[0])
    logged = deliveries(tenant.api, job_id=job["id"])
    assert sorted((d["endpoint_id"] or "", d["url"]) for d in logged) == sorted(
        [("", callback.url), (all_events["id"], every.url)]
    )
    assert failures_only.received == []


def test_a_410_disables_its_endpoint_after_one_attempt(tenant, farm) -> None:
    with WebhookReceiver(then=410) as gone:
        made = create_endpoint(tenant.api, gone.url)
        first = finished_job(tenant.api)
        disabled = wait_disabled(tenant.api, made["id"])
        second = finished_job(tenant.api)

    assert len(gone.received) == 1
    assert disabled["disabled_reason"] == "the endpoint answered 410 Gone"
    [delivery] = deliveries(tenant.api, job_id=first["id"])
    assert delivery["status"] == "failed"
    assert delivery["last_status_code"] == 410
    assert [a["status_code"] for a in delivery["attempts"]] == [410]
    assert deliveries(tenant.api, job_id=second["id"]) == []
    with read_scope(farm.database_url) as session:
        events = audit.recent(session, tenant.creds.tenant_id)
    assert any(
        e.action == "webhook.endpoint.disabled" and e.object_id == made["id"] for e in events
    )


def test_an_endpoint_down_past_the_window_is_disabled_and_replayed_once_back(tenant) -> None:
    port = free_port()
    since = datetime.now(UTC) - timedelta(seconds=1)
    made = create_endpoint(tenant.api, f"http://127.0.0.1:{port}/hook")
    jobs = [tenant.api.submit() for _ in range(3)]
    for job in jobs:
        tenant.api.wait_final(job["id"])
    disabled = wait_disabled(tenant.api, made["id"])
    assert disabled["disabled_reason"].startswith("every attempt failed for over 2")

    dead = deliveries(tenant.api, status="dead", endpoint_id=made["id"])
    assert sorted(d["job_id"] for d in dead) == sorted(j["id"] for j in jobs)
    assert {d["status"] for d in dead} <= {"failed", "stopped"}
    # Each refused connection is the last error of a delivery attempted before the
    # disable; one the disable stopped while it still waited was never attempted.
    assert all(d["last_status_code"] is None for d in dead)
    assert all(d["last_error"] for d in dead if d["attempts"])
    assert any(d["attempts"] for d in dead)
    assert deliveries(tenant.api, status="pending", endpoint_id=made["id"]) == []

    refused = tenant.api.post(f"{ENDPOINTS}/{made['id']}/replay", json={"since": iso(since)})
    assert refused.status_code == 409
    assert refused.headers["content-type"] == PROBLEM_JSON
    assert "enable it" in refused.json()["detail"]

    with WebhookReceiver(port=port) as back:
        enabled = tenant.api.patch(f"{ENDPOINTS}/{made['id']}", json={"enabled": True})
        assert enabled.json()["enabled"] and enabled.json()["disabled_reason"] is None
        replay = tenant.api.post(f"{ENDPOINTS}/{made['id']}/replay", json={"since": iso(since)})
        assert replay.status_code == 202, replay.text
        assert replay.json()["replayed"] == 3
        # One slot per endpoint: two of the three wait their turn, by a countdown.
        wait_until(lambda: len(back.successes()) == 3, 60, "the three replayed deliveries")

    assert {verify(made["secret"], hit)["data"]["id"] for hit in back.received} == {
        j["id"] for j in jobs
    }
    assert {hit.headers["webhook-id"] for hit in back.received} == {d["webhook_id"] for d in dead}
    assert deliveries(tenant.api, status="dead", endpoint_id=made["id"]) == []


def test_during_a_rotation_both_secrets_verify_and_after_it_only_the_new_one(tenant) -> None:
    with WebhookReceiver() as receiver:
        made = create_endpoint(tenant.api, receiver.url)
        rotated = tenant.api.post(f"{ENDPOINTS}/{made['id']}/rotate-secret").json()
        old, new = made["secret"], rotated["secret"]
        finished_job(tenant.api)
        [during] = wait_until(receiver.successes, 30, "the delivery during the overlap")
        ends = datetime.fromisoformat(rotated["previous_valid_until"])
        wait_until(lambda: datetime.now(UTC) > ends, 30, "the overlap window to end")
        finished_job(tenant.api)
        wait_until(lambda: len(receiver.successes()) == 2, 30, "the delivery after it")
        forgotten = wait_until(
            lambda: endpoint(tenant.api, made["id"])["previous_secret_valid_until"] is None,
            30,
            "the old secret to be forgotten",
        )

    after = receiver.received[1]
    assert new.startswith("whsec_") and new != old
    assert len(signatures(during)) == 2
    assert verify(old, during) == verify(new, during)
    assert len(signatures(after)) == 1
    verify(new, after)
    with pytest.raises(WebhookVerificationError):
        verify(old, after)
    assert forgotten


def test_the_default_secret_of_callback_urls_rotates_with_an_overlap(tenant) -> None:
    old = tenant.creds.webhook_secret
    with WebhookReceiver() as receiver:
        rotated = tenant.api.post("/v1/webhooks/secret/rotate")
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        finished_job(tenant.api, callback_url=receiver.url)
        [during] = wait_until(receiver.successes, 30, "the callback during the overlap")
        ends = datetime.fromisoformat(rotated.json()["previous_valid_until"])
        wait_until(lambda: datetime.now(UTC) > ends, 30, "the overlap window to end")
        finished_job(tenant.api, callback_url=receiver.url)
        wait_until(lambda: len(receiver.successes()) == 2, 30, "the callback after it")

    verify(old, during)
    verify(new, during)
    after = receiver.received[1]
    verify(new, after)
    with pytest.raises(WebhookVerificationError):
        verify(old, after)


def test_another_tenant_cannot_see_change_replay_or_rotate_an_endpoint(make_tenant) -> None:
    owner, stranger = make_tenant(), make_tenant()
    made = create_endpoint(owner.api, "http://127.0.0.1:9/hook", event_types=["job.failed"])
    path = f"{ENDPOINTS}/{made['id']}"
    since = {"since": iso(datetime.now(UTC) - timedelta(hours=1))}

    answers = [
        stranger.api.get(path),
        stranger.api.patch(path, json={"enabled": False}),
        stranger.api.post(f"{path}/replay", json=since),
        stranger.api.post(f"{path}/rotate-secret"),
        stranger.api.delete(path),
    ]

    assert [a.status_code for a in answers] == [404] * 5
    assert all(a.headers["content-type"] == PROBLEM_JSON for a in answers)
    assert stranger.api.get(ENDPOINTS).json() == []
    assert deliveries(stranger.api, endpoint_id=made["id"]) == []
    assert endpoint(owner.api, made["id"])["enabled"] is True
    assert owner.api.delete(path).status_code == 204
    assert owner.api.get(path).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "not a url"}, "url"),
        ({"url": "ftp://example.com/hook"}, "url"),
        ({"url": "http://example.com/" + "a" * 5000}, "url"),
        ({}, "url"),
        ({"url": "http://example.com/hook", "event_types": ["job.exploded"]}, "event_types"),
        ({"url": "http://example.com/hook", "event_types": "job.failed"}, "event_types"),
    ],
)
def test_bad_endpoint_input_is_a_clear_problem(tenant, body: dict[str, Any], field: str) -> None:
    response = tenant.api.post(ENDPOINTS, json=body)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert any(e["field"].startswith(field) for e in response.json()["errors"])


def test_bad_replay_update_and_filter_input_are_clear_problems(tenant) -> None:
    made = create_endpoint(tenant.api, "http://127.0.0.1:9/hook")
    path = f"{ENDPOINTS}/{made['id']}"

    answers = {
        "huge body": tenant.api.post(
            ENDPOINTS,
            data=b'{"url": "http://example.com/hook", "pad": "' + b"x" * (2 * 1024**2) + b'"}',
            headers={"content-type": "application/json"},
        ),
        "bad since": tenant.api.post(f"{path}/replay", json={"since": "last tuesday"}),
        "no since": tenant.api.post(f"{path}/replay", json={}),
        "bad status": tenant.api.post(
            f"{path}/replay", json={"since": "2026-01-01T00:00:00Z", "status": "lost"}
        ),
        "bad update": tenant.api.patch(path, json={"event_types": ["nope"]}),
        "bad filter": tenant.api.get("/v1/webhooks/deliveries", params={"status": "lost"}),
        "not json": tenant.api.post(
            ENDPOINTS, data=b"{", headers={"content-type": "application/json"}
        ),
    }

    statuses = {name: a.status_code for name, a in answers.items()}
    assert statuses == {
        "huge body": 413,
        "bad since": 422,
        "no since": 422,
        "bad status": 422,
        "bad update": 422,
        "bad filter": 422,
        "not json": 400,
    }
    assert all(a.headers["content-type"] == PROBLEM_JSON for a in answers.values())
    assert endpoint(tenant.api, made["id"])["event_types"] == []


def test_the_operator_cli_replays_and_refuses_a_disabled_endpoint(make_tenant, farm) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    tenant = make_tenant(name)
    since = iso(datetime.now(UTC) - timedelta(seconds=1))
    with WebhookReceiver() as receiver:
        made = create_endpoint(tenant.api, receiver.url)
        finished_job(tenant.api)
        wait_until(receiver.successes, 30, "the first delivery")
        replay = ("webhooks", "replay", name, "--since", since, "--endpoint", made["id"])
        done = farm.jobfarm(*replay, "--status", "delivered")
        assert done.returncode == 0, done.stderr
        assert '"replayed": 1' in done.stdout
        wait_until(lambda: len(receiver.successes()) == 2, 30, "the replayed delivery")
        tenant.api.patch(f"{ENDPOINTS}/{made['id']}", json={"enabled": False})
        with pytest.raises(subprocess.CalledProcessError) as refused:
            farm.jobfarm(*replay, "--status", "delivered")

    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    verify(made["secret"], second)
    assert refused.value.returncode == 1
    assert "disabled: enable it first" in refused.value.stderr


def test_a_tenant_wide_replay_sends_callback_dead_letters_and_skips_disabled_endpoints(
    tenant,
) -> None:
    since = {"since": iso(datetime.now(UTC) - timedelta(seconds=1))}
    with WebhookReceiver(script=[500] * 5) as callback:
        down = create_endpoint(tenant.api, f"http://127.0.0.1:{free_port()}/hook")
        job = finished_job(tenant.api, callback_url=callback.url)
        tenant.api.patch(f"{ENDPOINTS}/{down['id']}", json={"enabled": False})
        [failed] = wait_until(
            lambda: deliveries(tenant.api, job_id=job["id"], status="failed"),
            60,
            "the callback's delivery to run out of attempts",
        )
        [stopped] = deliveries(tenant.api, job_id=job["id"], status="stopped")
        other_type = tenant.api.post(
            "/v1/webhooks/replay", json={**since, "event_type": "job.failed"}
        )
        replay = tenant.api.post("/v1/webhooks/replay", json=since)
        wait_until(callback.successes, 30, "the replayed callback")

    assert other_type.json() == {"replayed": 0, "delivery_ids": []}
    assert replay.status_code == 202
    assert replay.json() == {"replayed": 1, "delivery_ids": [failed["id"]]}
    assert failed["endpoint_id"] is None and stopped["endpoint_id"] == down["id"]
    assert [hit.answered for hit in callback.received] == [500] * 5 + [200]
    verify(tenant.creds.webhook_secret, callback.received[-1])
    still = deliveries(tenant.api, job_id=job["id"], status="stopped")
    assert [d["id"] for d in still] == [stopped["id"]]
