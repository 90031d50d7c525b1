"""The front door on the real farm: every dialect answers in its own shape, tokens are
honoured only for their key's tenant, credits follow the job whatever API submits it,
and bodies are bounded before they are parsed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from api_stub import tokens
from api_stub.fractal3d.auth import TOKEN_PREFIX as FRACTAL3D_TOKEN
from api_stub.smartmanu.auth import TOKEN_PREFIX as SMARTMANU_TOKEN
from config.settings import DEV_SECRET
from tests.farm import Farm

Shape = Callable[[requests.Response, int], None]


def native_shape(response: requests.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


def fractal3d_shape(response: requests.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    inner = body.get("error", body)
    assert set(inner) == {"message", "type"}, body


def smartmanu_shape(response: requests.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error" and body["code"] == status, body


def content_shape(response: requests.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "data"} and body["code"] == status, body


def smartmanu_token(farm: Farm, api_key: str) -> str:
    head, _, secret = api_key.rpartition("_")
    response = requests.post(
        f"{farm.base_url}/auth/token", json={"api_key": head, "secret": secret}, timeout=10
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


@pytest.fixture
def bearer(farm: Farm, tenant) -> Callable[[str], dict[str, str]]:  # type: ignore[no-untyped-def]
    """The Authorization header each dialect's clients send."""

    def header(dialect: str) -> dict[str, str]:
        key = tenant.creds.api_key
        credential = smartmanu_token(farm, key) if dialect == "smartmanu" else key
        return {"Authorization": f"Bearer {credential}"}

    return header


UNKNOWN_PATHS = [
    ("native", "GET", "/v1/nothing-here", native_shape),
    ("fractal3d", "GET", "/api/nothing-here", fractal3d_shape),
    ("content", "GET", "/api/v1/payment/orders", content_shape),
    ("smartmanu", "GET", "/v2/nothing-here", smartmanu_shape),
    ("content", "GET", "/api/v1/nothing-here", content_shape),
]


@pytest.mark.parametrize(("dialect", "method", "path", "shape"), UNKNOWN_PATHS)
def test_an_unknown_path_is_404_in_the_dialects_shape(
    farm: Farm, bearer, dialect: str, method: str, path: str, shape: Shape
) -> None:  # type: ignore[no-untyped-def]
    headers = bearer("content" if path.startswith("/api/v1") else dialect)

    response = requests.request(method, farm.base_url + path, headers=headers, timeout=10)

    shape(response, 404)


WRONG_METHODS = [
    ("native", "DELETE", "/v1/jobs", native_shape),
    ("fractal3d", "DELETE", "/api/converts", fractal3d_shape),
    ("smartmanu", "DELETE", "/v2/async/batch", smartmanu_shape),
    ("content", "GET", "/api/v1/video/generate", content_shape),
]


@pytest.mark.parametrize(("dialect", "method", "path", "shape"), WRONG_METHODS)
def test_a_wrong_method_is_405_in_the_dialects_shape(
    farm: Farm, bearer, dialect: str, method: str, path: str, shape: Shape
) -> None:  # type: ignore[no-untyped-def]
    response = requests.request(method, farm.base_url + path, headers=bearer(dialect), timeout=10)

    shape(response, 405)


def test_thumbnail_and_result_file_wrap_their_401(farm: Farm) -> None:
    for path in ("/api/thumbnail", "/api/thumbnail/result_file", "/api/converts/result_file"):
        method = "POST" if path == "/api/thumbnail" else "GET"
        response = requests.request(method, farm.base_url + path, timeout=10)

        assert response.status_code == 401
        assert response.json()["error"]["type"] == "Unauthorized"


def test_a_token_naming_another_tenant_than_its_key_is_refused(farm: Farm, make_tenant) -> None:  # type: ignore[no-untyped-def]
    victim, attacker = make_tenant(), make_tenant()
    uploaded = victim.api.post(
        "/v1/files", params={"name": "secret.txt"}, data=b"the victim's file"
    ).json()
    attacker_key = farm_key_id(farm, attacker.creds.api_key)
    scopes = frozenset({"ReadFile"})
    forged, _ = tokens.issue(
        FRACTAL3D_TOKEN, DEV_SECRET, victim.creds.tenant_id, attacker_key, scopes, 600
    )
    honest, _ = tokens.issue(
        FRACTAL3D_TOKEN, DEV_SECRET, attacker.creds.tenant_id, attacker_key, scopes, 600
    )
    forged_smartmanu, _ = tokens.issue(
        SMARTMANU_TOKEN, DEV_SECRET, victim.creds.tenant_id, attacker_key, frozenset(), 600
    )

    def read(token: str) -> requests.Response:
        return requests.get(
            f"{farm.base_url}/api/files",
            params={"file_id": uploaded["id"]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )

    assert read(forged).status_code == 401
    assert read(honest).status_code == 404
    design = requests.get(
        f"{farm.base_url}/v2/design/DSG-2026-0000000000000000",
        headers={"Authorization": f"Bearer {forged_smartmanu}"},
        timeout=10,
    )
    assert design.status_code == 401


def farm_key_id(farm: Farm, api_key: str) -> str:
    from storage import tenants
    from storage.db import session_scope

    with session_scope(farm.database_url) as session:
        caller = tenants.authenticate(session, api_key)
    assert caller is not None
    return caller.key_id


def local_model(farm: Farm, key: str, cost: int) -> int:
    body = {"name": "local", "provider": "local", "model_name": "local", "credits_cost": cost}
    response = requests.post(
        f"{farm.base_url}/api/v1/models",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    return int(response.json()["data"]["id"])


def ledger(farm: Farm, key: str) -> list[dict[str, Any]]:
    response = requests.get(
        f"{farm.base_url}/api/v1/credit/transactions",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    return list(response.json()["data"]["items"])


def fund(farm: Farm, tenant_id: str, amount: int) -> None:
    added = farm.jobfarm("credits", "add", "--tenant", tenant_id, "--amount", str(amount))
    assert added.returncode == 0, added.stderr


def test_a_native_job_on_a_costed_model_is_reserved_and_charged_once(farm: Farm, tenant) -> None:  # type: ignore[no-untyped-def]
    key = tenant.creds.api_key
    fund(farm, tenant.creds.tenant_id, 25)
    model_id = local_model(farm, key, 10)
    params = {"topic": "季度回顾", "outline": ["收入", "计划"], "model_id": model_id}

    job = tenant.api.submit("ppt", params=params)
    done = tenant.api.wait_final(job["id"], 120)

    assert done["state"] == "succeeded", done
    moves = [(m["type"], m["amount"]) for m in ledger(farm, key) if m["task_id"] == job["id"]]
    assert sorted(moves) == [("charge", 0), ("reserve", -10)]
    balance = requests.get(
        f"{farm.base_url}/api/v1/credit/balance",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    ).json()["data"]["credit_balance"]
    assert balance == 15


def test_a_native_job_with_too_few_credits_is_refused_and_nothing_queued(
    farm: Farm, tenant
) -> None:  # type: ignore[no-untyped-def]
    key = tenant.creds.api_key
    fund(farm, tenant.creds.tenant_id, 5)
    model_id = local_model(farm, key, 10)
    body = {"kind": "video", "params": {"script": "一。二。", "duration": 4, "model_id": model_id}}

    refused = tenant.api.post("/v1/jobs", json=body)

    assert refused.status_code == 402
    assert refused.headers["content-type"] == "application/problem+json"
    assert tenant.api.get("/v1/jobs").json()["total"] == 0
    assert [m["type"] for m in ledger(farm, key)] == ["recharge"]


def test_an_inline_model_api_key_is_refused_and_never_stored(tenant) -> None:  # type: ignore[no-untyped-def]
    model = {
        "provider": "openai",
        "model_name": "gpt",
        "api_base": "https://models.example/v1",
        "api_key": "sk-live-secret",
    }
    body = {"kind": "ppt", "params": {"topic": "t", "outline": ["a"], "model": model}}

    refused = tenant.api.post("/v1/jobs", json=body)

    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "params.model.api_key"
    listed = tenant.api.get("/v1/jobs").text
    assert "sk-live-secret" not in listed


def test_a_200000_task_batch_is_refused_before_it_is_parsed(farm: Farm, bearer) -> None:  # type: ignore[no-untyped-def]
    task = {"task_id": "", "design_params": {"product_type": "t_shirt", "params": {}}}
    tasks = [{**task, "task_id": str(i)} for i in range(200_000)]
    body = json.dumps({"tasks": tasks}).encode()

    response = requests.post(
        f"{farm.base_url}/v2/async/batch",
        data=body,
        headers={**bearer("smartmanu"), "Content-Type": "application/json"},
        timeout=30,
    )

    smartmanu_shape(response, 413)


def test_json_bodies_are_capped_on_every_dialect(farm: Farm, bearer) -> None:  # type: ignore[no-untyped-def]
    big = b'{"kind": "noop", "params": {"pad": "' + b"x" * (2 * 1024**2) + b'"}}'
    cases = [
        ("native", "/v1/jobs", native_shape),
        ("fractal3d", "/api/converts", fractal3d_shape),
        ("smartmanu", "/v2/design/generate", smartmanu_shape),
        ("content", "/api/v1/video/generate", content_shape),
    ]
    for dialect, path, shape in cases:
        headers = {**bearer(dialect), "Content-Type": "application/json"}
        response = requests.post(farm.base_url + path, data=big, headers=headers, timeout=30)

        shape(response, 413)


def test_text_the_database_cannot_store_is_400_not_500(farm: Farm) -> None:
    # A lone surrogate is not UTF-8 on any database; a NUL is refused by PostgreSQL.
    for odd in ("\\ud8b2", "\\u0000"):
        name = f"u{odd}{uuid.uuid4().hex[:8]}"
        body = '{"username": "' + name + '", "email": "a@b.cn", "password": "pw-123456"}'
        response = requests.post(
            f"{farm.base_url}/api/v1/auth/register",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )

        assert response.status_code < 500, response.text
        assert set(response.json()) == {"code", "message", "data"}
        if odd == "\\ud8b2":
            content_shape(response, 400)
