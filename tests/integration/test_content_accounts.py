"""The content platform's accounts on the real farm (seed 003), driven as its client
would: register, log in, call with the access token, refresh; the operator adds credits
and membership with `jobfarm`. The seed's auth class allows 10 calls a minute from one
address: this file makes fewer."""

from __future__ import annotations

import json
import secrets
from typing import Any

import requests

from api_stub.content import user_tokens
from config.settings import DEV_SECRET
from tests.farm import Farm


def call(farm: Farm, token: str | None, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(
        method, f"{farm.base_url}/api/v1{path}", headers=headers, timeout=60, **kwargs
    )


def registered(farm: Farm) -> tuple[str, dict[str, Any]]:
    """A fresh user (their own tenant, so their own rate limits); name and answer."""
    name = f"user_{secrets.token_hex(4)}"
    body = {"username": name, "email": f"{name}@example.com", "password": "password123"}
    return name, call(farm, None, "POST", "/auth/register", json=body).json()


def logged_in(farm: Farm, name: str) -> dict[str, Any]:
    body = {"username": name, "password": "password123"}
    return dict(call(farm, None, "POST", "/auth/login", json=body).json())


def operator(farm: Farm, *args: str) -> dict[str, Any]:
    done = farm.jobfarm(*args)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_user_registers_logs_in_is_funded_and_refreshes(farm: Farm) -> None:
    name, created = registered(farm)
    login = logged_in(farm, name)["data"]
    access, refresh = login["access_token"], login["refresh_token"]
    before = call(farm, access, "GET", "/auth/me").json()
    user = operator(farm, "users", "show", name)
    operator(farm, "credits", "add", "--tenant", user["tenant_id"], "--amount", "70")
    after = call(farm, access, "GET", "/auth/me").json()["data"]
    renewed = call(farm, refresh, "POST", "/auth/refresh").json()
    refresh_as_access = call(farm, refresh, "GET", "/auth/me")

    assert created["code"] == 200 and created["message"] == "注册成功"
    assert created["data"]["credit_balance"] == 0 and created["data"]["is_member"] is False
    assert len(created["data"]["referral_code"]) == 8
    assert login["token_type"] == "bearer" and login["user"]["username"] == name
    assert before["data"]["id"] == created["data"]["id"]
    assert before["data"]["credit_balance"] == 0
    assert after["credit_balance"] == 70
    assert renewed["code"] == 200 and renewed["message"] == "Token刷新成功"
    assert call(farm, renewed["data"]["access_token"], "GET", "/auth/me").json()["data"] == after
    assert (refresh_as_access.status_code, refresh_as_access.json()["code"]) == (401, 401)


def test_an_expired_access_token_is_401_in_the_envelope(farm: Farm) -> None:
    name, _ = registered(farm)
    user = operator(farm, "users", "show", name)
    expired = user_tokens.issue(DEV_SECRET, user["id"], user["tenant_id"], "access", -60)

    response = call(farm, expired, "GET", "/auth/me")

    assert response.status_code == 401
    assert response.json()["code"] == 401 and response.json()["data"] is None


def test_membership_set_by_the_operator_shows_with_its_end_date(farm: Farm) -> None:
    name, _ = registered(farm)
    access = logged_in(farm, name)["data"]["access_token"]
    operator(farm, "users", "member", name, "--type", "monthly")

    me = call(farm, access, "GET", "/auth/me").json()["data"]
    balance = call(farm, access, "GET", "/credit/balance").json()["data"]

    assert (me["is_member"], me["membership_type"]) == (True, "monthly")
    assert me["membership_end_date"] and "Z" not in me["membership_end_date"]
    assert balance["is_member"] is True
