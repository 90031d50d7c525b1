"""The content dialect's credit and model endpoints on the real farm, in the seed's
`{code, message, data}` envelope; top-ups through `jobfarm credits add`."""

from __future__ import annotations

import json
from typing import Any

import requests

from tests.farm import Farm

QWEN = {
    "name": "通义千问Plus",
    "provider": "qwen",
    "model_name": "qwen-plus",
    "api_key": "sk-not-for-your-eyes",
    "api_base": "https://dashscope.example/api/v1",
    "config": {"temperature": 0.7, "max_tokens": 2000},
    "credits_cost": 8,
}


def call(farm: Farm, key: str | None, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.request(
        method, f"{farm.base_url}/api/v1{path}", headers=headers, timeout=10, **kwargs
    )


def test_without_a_key_the_envelope_says_401(farm: Farm) -> None:
    response = call(farm, None, "GET", "/credit/balance")

    assert response.status_code == 401
    assert response.json()["code"] == 401
    assert response.json()["data"] is None


def test_models_are_registered_listed_updated_and_deleted_without_their_keys(
    farm: Farm,
    tenant,
    make_tenant,  # type: ignore[no-untyped-def]
) -> None:
    key = tenant.creds.api_key
    created = call(farm, key, "POST", "/models", json=QWEN).json()
    model_id = created["data"]["id"]
    listed = call(farm, key, "GET", "/models", params={"provider": "qwen"}).json()
    updated = call(farm, key, "PUT", f"/models/{model_id}", json={"credits_cost": 12}).json()
    stranger = make_tenant().creds.api_key

    assert created["code"] == 200
    assert "sk-not-for-your-eyes" not in json.dumps([created, listed, updated])
    assert created["data"]["has_api_key"] is True
    assert [m["id"] for m in listed["data"]] == [model_id]
    assert updated["data"]["credits_cost"] == 12
    assert call(farm, stranger, "DELETE", f"/models/{model_id}").json()["code"] == 404
    assert call(farm, key, "DELETE", f"/models/{model_id}").json()["code"] == 200
    assert call(farm, key, "GET", "/models").json()["data"] == []


def test_an_invalid_model_is_400_in_the_envelope(farm: Farm, tenant) -> None:  # type: ignore[no-untyped-def]
    response = call(
        farm, tenant.creds.api_key, "POST", "/models", json={**QWEN, "api_base": "ftp://x"}
    )

    assert (response.status_code, response.json()["code"]) == (400, 400)
    assert "api_base" in response.json()["message"]


def test_an_operator_top_up_shows_in_the_balance_and_the_ledger(farm: Farm, tenant) -> None:  # type: ignore[no-untyped-def]
    for amount in (100, 50, 25):
        added = farm.jobfarm(
            "credits", "add", "--tenant", tenant.creds.tenant_id, "--amount", str(amount)
        )
        assert added.returncode == 0, added.stderr

    balance = call(farm, tenant.creds.api_key, "GET", "/credit/balance").json()
    page = call(
        farm,
        tenant.creds.api_key,
        "GET",
        "/credit/transactions",
        params={"page": 1, "page_size": 2},
    ).json()["data"]
    too_big = call(
        farm, tenant.creds.api_key, "GET", "/credit/transactions", params={"page_size": 101}
    )

    assert balance["data"]["credit_balance"] == 175
    assert (page["total"], page["page"], page["page_size"]) == (3, 1, 2)
    assert [(i["type"], i["amount"], i["balance_after"]) for i in page["items"]] == [
        ("recharge", 25, 175),
        ("recharge", 50, 150),
    ]
    assert too_big.json()["code"] == 400
