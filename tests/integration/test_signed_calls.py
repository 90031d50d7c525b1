"""Seed 004's signed server-to-server calls, over real HTTP against the farm: the
seed's example on a native job submission, the refusals with their reasons, its
health check, its create QPS class, the IP allowlist and the default webhook."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from api_stub import signing
from tests.farm import Farm, wait_until
from tests.receiver import WebhookReceiver

# The seed's example, with its path pointed at the farm's job submission and the
# signature computed the usual shell way from the string to sign.
SEED_EXAMPLE = r"""
TIMESTAMP=$(date +%s%3N)
BODY='{"kind": "noop", "params": {"tag": "seed-004"}}'
SIGNATURE=$(printf '%s' "POST/v1/jobs${TIMESTAMP}${BODY}" \
  | openssl dgst -sha256 -hmac "${APP_SECRET}" | sed 's/^.* //')
curl -sS -X POST "${BASE_URL}/v1/jobs" \
  -H "Content-Type: application/json" \
  -H "X-App-Id: ${APP_ID}" \
  -H "X-Timestamp: ${TIMESTAMP}" \
  -H "X-Signature: ${SIGNATURE}" \
  -d "${BODY}" -w '\n%{http_code}'
"""


@pytest.fixture
def app(farm: Farm) -> dict[str, Any]:
    """A new tenant's key and app, as `jobfarm keys create --json` prints them."""
    done = farm.jobfarm("keys", "create", "--tenant", f"procure-{uuid.uuid4().hex[:8]}", "--json")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def now_ms() -> str:
    return str(int(time.time() * 1000))


def signed(
    farm: Farm,
    app: dict[str, Any],
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    timestamp: str | None = None,
    signature: str | None = None,
) -> requests.Response:
    raw = json.dumps(body).encode() if body is not None else b""
    stamp = timestamp or now_ms()
    headers = {
        "X-App-Id": app["app_id"],
        "X-Timestamp": stamp,
        "X-Signature": signature or signing.sign(app["app_secret"], method, path, stamp, raw),
    }
    if body is not None:
        headers["Content-Type"] = "application/json"
    return requests.request(method, farm.base_url + path, data=raw, headers=headers, timeout=30)


def test_the_seeds_example_submits_a_job(farm: Farm, app: dict[str, Any]) -> None:
    env = {"APP_ID": app["app_id"], "APP_SECRET": app["app_secret"], "BASE_URL": farm.base_url}
    done = subprocess.run(
        ["bash", "-c", SEED_EXAMPLE], env=env, capture_output=True, text=True, timeout=60
    )
    body, status = done.stdout.rsplit("\n", 1)
    assert status == "202", done.stdout + done.stderr
    job = json.loads(body)
    assert job["kind"] == "noop" and job["params"] == {"tag": "seed-004"}
    read = signed(farm, app, "GET", f"/v1/jobs/{job['id']}")
    assert read.status_code == 200 and read.json()["id"] == job["id"]
    bearer = requests.get(
        f"{farm.base_url}/v1/jobs/{job['id']}",
        headers={"Authorization": f"Bearer {app['api_key']}"},
        timeout=30,
    )
    assert bearer.status_code == 200, "the app's jobs are its key's tenant's"


def test_a_wrong_signature_is_refused_naming_it(farm: Farm, app: dict[str, Any]) -> None:
    wrong = signing.sign("not the secret", "POST", "/v1/jobs", now_ms(), b"{}")
    response = signed(farm, app, "POST", "/v1/jobs", {"kind": "noop"}, signature=wrong)
    assert response.status_code == 401
    assert response.json() == {
        "code": 40101,
        "message": response.json()["message"],
        "data": {"field": "X-Signature", "reason": "X-Signature does not match the request"},
    }


def test_a_signature_over_another_body_is_refused(farm: Farm, app: dict[str, Any]) -> None:
    stamp = now_ms()
    other = signing.sign(app["app_secret"], "POST", "/v1/jobs", stamp, b'{"kind": "other"}')
    response = signed(farm, app, "POST", "/v1/jobs", {"kind": "noop"}, stamp, other)
    assert response.status_code == 401
    assert response.json()["data"]["field"] == "X-Signature"


def test_a_stale_timestamp_is_refused(farm: Farm, app: dict[str, Any]) -> None:
    stale = str(int(time.time() * 1000) - 6 * 60 * 1000)
    response = signed(farm, app, "GET", "/v1/jobs", timestamp=stale)
    assert response.status_code == 401
    data = response.json()["data"]
    assert data["field"] == "X-Timestamp" and "300 s allowed" in data["reason"]


def test_a_replayed_request_is_refused(farm: Farm, app: dict[str, Any]) -> None:
    stamp = now_ms()
    signature = signing.sign(app["app_secret"], "GET", "/v1/jobs", stamp, b"")
    first = signed(farm, app, "GET", "/v1/jobs", timestamp=stamp, signature=signature)
    assert first.status_code == 200, first.text
    again = signed(farm, app, "GET", "/v1/jobs", timestamp=stamp, signature=signature)
    assert again.status_code == 401
    assert again.json()["data"] == {
        "field": "X-Signature",
        "reason": "X-Signature was already used (replayed request)",
    }


def test_a_revoked_key_ends_its_app(farm: Farm, app: dict[str, Any]) -> None:
    farm.jobfarm("keys", "revoke", app["api_key"])
    response = signed(farm, app, "GET", "/v1/jobs")
    assert response.status_code == 401
    assert response.json()["data"]["field"] == "X-App-Id"


def test_health_answers_without_credentials_in_the_seeds_envelope(farm: Farm) -> None:
    response = requests.get(f"{farm.base_url}/api/v1/health", timeout=30)
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 0 and body["data"]["status"] == "ok"
    assert body["data"]["database"] == "ok" and body["data"]["redis"] == "ok"


def test_the_create_class_allows_ten_a_second(farm: Farm, app: dict[str, Any]) -> None:
    def create(i: int) -> tuple[int, dict[str, Any]]:
        response = signed(farm, app, "POST", "/v1/jobs", {"kind": "noop", "params": {"i": i}})
        return response.status_code, response.json()

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(create, range(30)))
    elapsed = time.monotonic() - started
    accepted = [a for a in answers if a[0] == 202]
    refused = [body for status, body in answers if status == 429]
    assert len(accepted) + len(refused) == 30, answers
    assert 10 <= len(accepted) <= 10 + 10 * elapsed + 1, (len(accepted), elapsed)
    assert refused and refused[0]["code"] == 42901
    # Queries are their own class: the app may still read.
    assert signed(farm, app, "GET", "/v1/jobs").status_code == 200


def test_a_call_from_outside_the_allowlist_is_refused(farm: Farm, app: dict[str, Any]) -> None:
    farm.jobfarm("apps", "allow-ip", app["app_id"], "10.0.0.1", "192.168.0.0/16")
    refused = signed(farm, app, "GET", "/v1/jobs")
    assert refused.status_code == 403
    assert refused.json()["data"] == {
        "field": "ip",
        "reason": "client IP 127.0.0.1 is not in the app's allowlist",
    }
    farm.jobfarm("apps", "allow-ip", app["app_id"], "127.0.0.0/8")
    assert signed(farm, app, "GET", "/v1/jobs").status_code == 200


def test_a_job_without_callback_posts_to_the_apps_default_webhook(
    farm: Farm, app: dict[str, Any]
) -> None:
    with WebhookReceiver() as receiver:
        farm.jobfarm("apps", "set-webhook", app["app_id"], receiver.url)
        response = signed(farm, app, "POST", "/v1/jobs", {"kind": "noop", "params": {}})
        assert response.status_code == 202, response.text
        job = response.json()
        assert job["callback_url"] == receiver.url
        wait_until(receiver.successes, 60, "the default webhook's delivery")
    event = json.loads(receiver.successes()[0].body)
    assert job["id"] in json.dumps(event)


def test_a_signed_upload_signs_its_path_and_query_not_its_content(
    farm: Farm, app: dict[str, Any]
) -> None:
    def upload(signed_path: str) -> requests.Response:
        stamp = now_ms()
        headers = {
            "X-App-Id": app["app_id"],
            "X-Timestamp": stamp,
            "X-Signature": signing.sign(app["app_secret"], "POST", signed_path, stamp, b""),
        }
        return requests.post(
            f"{farm.base_url}/v1/files?name=a.txt", data=b"hello", headers=headers, timeout=30
        )

    stored = upload("/v1/files?name=a.txt")
    assert stored.status_code == 201, stored.text
    assert stored.json()["size"] == 5
    other_query = upload("/v1/files?name=b.txt")
    assert other_query.status_code == 401
    assert other_query.json()["data"]["field"] == "X-Signature"


def test_a_signed_call_without_its_timestamp_names_it(farm: Farm, app: dict[str, Any]) -> None:
    response = requests.get(
        f"{farm.base_url}/v1/jobs", headers={"X-App-Id": app["app_id"]}, timeout=30
    )
    assert response.status_code == 401
    assert response.json()["data"] == {
        "field": "X-Timestamp",
        "reason": "X-Timestamp is required for a signed call",
    }


def test_a_signed_calls_invalid_input_names_its_field(farm: Farm, app: dict[str, Any]) -> None:
    response = signed(farm, app, "POST", "/v1/jobs", {"kind": "no-such-kind", "params": {}})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == 42201 and body["data"]["field"] == "kind"
    assert "no-such-kind" in body["data"]["reason"]
