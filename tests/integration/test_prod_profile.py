"""The prod profile: client URLs to internal addresses are refused, through the real path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.farm import Farm, RedisServer, wait_until
from tests.integration.conftest import FAST_SETTINGS
from tests.integration.test_fractal3d import Fractal3d
from tests.receiver import WebhookReceiver

PROD = {
    "profile": "prod",
    "url_signing_secret": "a-real-signing-secret-of-some-length",
    "access_token_secret": "a-real-token-secret-of-some-length",
    "model_key_secret": "a-real-model-key-secret-of-some-length",
    "content_jwt_secret": "a-real-content-jwt-secret-of-some-length",
    "flower_password": "a-real-flower-password",
}


@pytest.fixture(scope="module")
def prod_farm(tmp_path_factory, own_database_url: str | None) -> Iterator[Farm]:  # type: ignore[no-untyped-def]
    """A prod-profile farm on a Redis of its own: no other farm's workers take its messages."""
    root = tmp_path_factory.mktemp("prod")
    server = RedisServer(root / "redis")
    server.start()
    farm = Farm(root, server.url, own_database_url, **FAST_SETTINGS, **PROD)
    farm.migrate()
    try:
        farm.start_roles(long=1, short=1, beat=False)
        yield farm
    finally:
        farm.stop_all()
        server.stop()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/part.stl",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost/x",
    ],
)
def test_input_url_to_an_internal_address_fails_the_job(prod_farm: Farm, url: str) -> None:
    api = prod_farm.client(prod_farm.create_key("prod-inputs").api_key)

    done = api.wait_final(api.submit(input_url=url)["id"])

    assert done["state"] == "failed"
    assert done["error"]["code"] == "input_forbidden"
    assert "non-public" in done["error"]["message"]


def test_callback_to_an_internal_address_is_refused_once_and_not_retried(prod_farm: Farm) -> None:
    api = prod_farm.client(prod_farm.create_key("prod-callbacks").api_key)
    with WebhookReceiver() as receiver:
        job = api.submit(callback_url=receiver.url)
        api.wait_final(job["id"])
        [delivery] = wait_until(
            lambda: [
                d
                for d in api.get("/v1/webhooks/deliveries", params={"job_id": job["id"]}).json()
                if d["status"] == "failed"
            ],
            30,
            "the delivery to fail",
        )

    assert receiver.received == []
    assert len(delivery["attempts"]) == 1
    assert delivery["attempts"][0]["error"].startswith("refused")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/part.stl", "http://169.254.169.254/latest/meta-data/part.stl"]
)
def test_fractal3d_url_inputs_to_internal_addresses_fail(prod_farm: Farm, url: str) -> None:
    client = Fractal3d(prod_farm.base_url, prod_farm.create_key("prod-fractal3d").api_key)

    transaction_id = client.start(
        "/converts", {"url": url, "file_name": "part.stl", "target_format": "e3dx"}
    )
    result = client.wait_result("/converts", transaction_id, timeout_s=60)

    assert result["status"] == "Failed"
    assert "non-public" in result["message"]


def test_a_models_endpoint_on_an_internal_address_is_never_called(prod_farm: Farm) -> None:
    creds = prod_farm.create_key("prod-models")
    added = prod_farm.jobfarm("credits", "add", "--tenant", creds.tenant_id, "--amount", "50")
    assert added.returncode == 0, added.stderr
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {creds.api_key}"
    api = f"{prod_farm.base_url}/api/v1"

    def video_status(task_id: str) -> dict | None:  # type: ignore[type-arg]
        data = http.get(f"{api}/video/{task_id}/status", timeout=10).json()["data"]
        return data if data["status"] != "processing" else None

    with WebhookReceiver() as internal:
        model = {
            "name": "inside",
            "provider": "openai",
            "model_name": "m",
            "api_key": "sk-x",
            "api_base": internal.url.rsplit("/", 1)[0],
            "credits_cost": 20,
        }
        model_id = http.post(f"{api}/models", json=model, timeout=10).json()["data"]["id"]
        body = {"script": "一。二。", "duration": 3, "model_id": model_id}
        created = http.post(f"{api}/video/generate", json=body, timeout=10).json()
        status = wait_until(lambda: video_status(created["data"]["task_id"]), 60, "the video")

    assert status["status"] == "failed"
    assert status["error"]["code"] == 40006
    assert internal.received == []
    balance = http.get(f"{api}/credit/balance", timeout=10).json()["data"]["credit_balance"]
    assert balance == 50


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/hook", "http://169.254.169.254/latest/", "http://localhost/hook"],
)
def test_a_webhook_endpoint_on_an_internal_address_is_refused_when_made(
    prod_farm: Farm, url: str
) -> None:
    api = prod_farm.client(prod_farm.create_key("prod-endpoints").api_key)

    created = api.post("/v1/webhooks/endpoints", json={"url": url})

    assert created.status_code == 422
    assert created.headers["content-type"] == "application/problem+json"
    [error] = created.json()["errors"]
    assert error["field"] == "url"
    assert "non-public" in error["message"]
    assert api.get("/v1/webhooks/endpoints").json() == []
