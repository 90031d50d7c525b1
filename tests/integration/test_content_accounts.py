"""The content platform's accounts on the real farm (seed 003), driven as its client
would: register, log in, call with the access token, refresh; the operator adds credits
and membership with `jobfarm`. The seed's auth class allows 10 anonymous calls a minute
from one address: each test calls from an address of its own on the loopback network."""

from __future__ import annotations

import base64
import io
import itertools
import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from PIL import Image
from requests.adapters import HTTPAdapter

from api_stub.content import user_tokens
from config.settings import DEV_SECRET
from tests.chat_server import serve_chat
from tests.farm import Farm

SOURCES = (f"127.0.0.{n}" for n in itertools.count(2))


class FromAddress(HTTPAdapter):
    """Connections from one source address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, source_address=(self.address, 0), **kwargs)


@pytest.fixture(autouse=True)
def client() -> Iterator[requests.Session]:
    """Every call of one test comes from its own loopback address."""
    global CLIENT
    CLIENT = requests.Session()
    CLIENT.mount("http://", FromAddress(next(SOURCES)))
    yield CLIENT
    CLIENT.close()


CLIENT = requests.Session()


def call(farm: Farm, token: str | None, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return CLIENT.request(
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


def user_session(farm: Farm, credits_added: int) -> tuple[str, str]:
    """A fresh user, logged in and funded by the operator: access token and tenant id."""
    name, _ = registered(farm)
    access = logged_in(farm, name)["data"]["access_token"]
    tenant_id = operator(farm, "users", "show", name)["tenant_id"]
    if credits_added:
        operator(farm, "credits", "add", "--tenant", tenant_id, "--amount", str(credits_added))
    return access, tenant_id


def local_model(farm: Farm, token: str, cost: int) -> int:
    body = {"name": "local", "provider": "local", "model_name": "local", "credits_cost": cost}
    return int(call(farm, token, "POST", "/models", json=body).json()["data"]["id"])


def test_a_user_writes_an_article_and_is_charged_the_tool_and_the_model(farm: Farm) -> None:
    access, _ = user_session(farm, 100)
    model_id = local_model(farm, access, 2)
    tools = call(farm, access, "GET", "/writing/tools").json()["data"]
    body = {
        "title": "如何提高工作效率",
        "keywords": ["时间管理", "效率工具"],
        "requirements": "字数2000字,包含实用技巧",
        "model_id": model_id,
    }

    written = call(farm, access, "POST", "/writing/wechat_article/generate", json=body).json()
    balance = call(farm, access, "GET", "/credit/balance").json()["data"]["credit_balance"]

    wechat = next(t for t in tools if t["type"] == "wechat_article")
    assert len(tools) == 14 and wechat["credits_cost"] == 10
    assert written["code"] == 200 and written["message"] == "生成成功"
    content = written["data"]["content"]
    assert content.startswith("# 如何提高工作效率") and "## 2、效率工具" in content
    assert written["data"]["credits_used"] == 12 and balance == 88


def test_writing_without_the_credits_is_40001_and_charges_nothing(farm: Farm) -> None:
    access, _ = user_session(farm, 0)
    model_id = local_model(farm, access, 0)
    body = {"title": "T", "model_id": model_id}

    refused = call(farm, access, "POST", "/writing/weibo_post/generate", json=body)
    unknown = call(farm, access, "POST", "/writing/sonnet/generate", json=body)

    assert (refused.status_code, refused.json()["code"]) == (400, 40001)
    assert unknown.json()["code"] == 404


def test_a_user_draws_a_picture_of_the_size_asked(farm: Farm) -> None:
    access, _ = user_session(farm, 50)
    model_id = local_model(farm, access, 20)
    body = {"prompt": "一只可爱的猫咪在花园里玩耍", "size": "640x480", "model_id": model_id}

    drawn = call(farm, access, "POST", "/image/generate", json=body).json()
    too_big = call(farm, access, "POST", "/image/generate", json={**body, "size": "9000x10"})
    picture = Image.open(io.BytesIO(CLIENT.get(drawn["data"]["image_url"], timeout=30).content))

    assert drawn["code"] == 200 and drawn["data"]["credits_used"] == 20
    assert picture.format == "PNG" and picture.size == (640, 480)
    assert len(picture.convert("RGB").getcolors(1 << 20) or []) >= 3
    assert (too_big.status_code, too_big.json()["code"]) == (400, 400)


def test_creations_list_a_users_writing_and_image_and_are_edited_and_deleted(
    farm: Farm,
) -> None:
    access, _ = user_session(farm, 100)
    model_id = local_model(farm, access, 1)
    article = {"title": "Morning routines", "keywords": ["sleep"], "model_id": model_id}
    written = call(farm, access, "POST", "/writing/zhihu_answer/generate", json=article).json()
    picture = {"prompt": "stars over mountains", "size": "256x256", "model_id": model_id}
    drawn = call(farm, access, "POST", "/image/generate", json=picture).json()
    creation_id, image_id = written["data"]["creation_id"], drawn["data"]["image_id"]

    listed = call(farm, access, "GET", "/creations", params={"page_size": 20}).json()["data"]
    images = call(farm, access, "GET", "/creations", params={"type": "image"}).json()["data"]
    edited = call(farm, access, "PUT", f"/creations/{creation_id}", json={"title": "Mornings"})
    again = call(farm, access, "GET", f"/creations/{creation_id}").json()["data"]
    stranger, _ = user_session(farm, 0)
    strangers = call(farm, stranger, "GET", f"/creations/{creation_id}").json()
    deleted = call(farm, access, "DELETE", f"/creations/{image_id}").json()
    after = call(farm, access, "GET", "/creations").json()["data"]

    assert listed["total"] == 2 and (listed["page"], listed["page_size"]) == (1, 20)
    assert [(i["id"], i["type"]) for i in listed["items"]] == [
        (image_id, "image"),
        (creation_id, "writing"),
    ]
    writing = listed["items"][1]
    assert writing["tool_type"] == "zhihu_answer" and writing["title"] == "Morning routines"
    assert writing["content"] == written["data"]["content"]
    assert "T" in writing["created_at"] and "Z" not in writing["created_at"]
    assert [i["id"] for i in images["items"]] == [image_id]
    assert listed["items"][0]["content"] == drawn["data"]["image_url"]
    assert edited.json()["data"]["title"] == "Mornings" and again["title"] == "Mornings"
    assert again["content"] == written["data"]["content"]
    assert strangers["code"] == 404 and deleted["code"] == 200
    assert [i["id"] for i in after["items"]] == [creation_id]
    assert call(farm, access, "GET", f"/creations/{image_id}").json()["code"] == 404


def generation_answers(farm: Farm, access: str, count: int) -> list[int]:
    """The codes of `count` generation calls (an unknown tool: each answers at once,
    after drawing on the generation limit at the gate)."""
    body = {"title": "t", "model_id": 1}
    return [
        call(farm, access, "POST", "/writing/no_such_tool/generate", json=body).json()["code"]
        for _ in range(count)
    ]


def test_a_member_generates_past_the_non_members_hourly_limit(farm: Farm) -> None:
    member, _ = user_session(farm, 0)
    name, _ = registered(farm)
    non_member = logged_in(farm, name)["data"]["access_token"]
    member_name = call(farm, member, "GET", "/auth/me").json()["data"]["username"]
    operator(farm, "users", "member", member_name, "--type", "yearly")

    assert set(generation_answers(farm, member, 21)) == {404}
    assert generation_answers(farm, non_member, 21) == [404] * 20 + [429]


def test_a_registered_chat_model_writes_the_text(farm: Farm) -> None:
    access, _ = user_session(farm, 30)
    with serve_chat() as chat:
        chat.content = json.dumps({"content": "# 标题\n\n模型写的正文。"})
        model = {
            "name": "qwen",
            "provider": "qwen",
            "model_name": "qwen-plus",
            "api_key": "sk-test",
            "api_base": chat.url,
            "credits_cost": 3,
        }
        model_id = call(farm, access, "POST", "/models", json=model).json()["data"]["id"]
        body = {"title": "标题", "keywords": ["效率"], "model_id": model_id}
        written = call(farm, access, "POST", "/writing/toutiao_article/generate", json=body).json()

    assert written["data"]["content"] == "# 标题\n\n模型写的正文。"
    assert written["data"]["credits_used"] == 13
    asked = chat.requests[0]
    assert asked["path"] == "/v1/chat/completions" and asked["json"]["model"] == "qwen-plus"
    assert "Title: 标题" in asked["json"]["messages"][1]["content"]
    assert asked["headers"]["Authorization"] == "Bearer sk-test"


def test_a_registered_images_model_draws_the_picture(farm: Farm) -> None:
    access, _ = user_session(farm, 10)
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (10, 120, 200)).save(buffer, "PNG")
    with serve_chat() as server:
        server.body = json.dumps(
            {"data": [{"b64_json": base64.b64encode(buffer.getvalue()).decode()}]}
        ).encode()
        model = {
            "name": "wanx",
            "provider": "qwen",
            "model_name": "wanx-v1",
            "api_key": "sk-test",
            "api_base": server.url,
            "credits_cost": 4,
        }
        model_id = call(farm, access, "POST", "/models", json=model).json()["data"]["id"]
        body = {"prompt": "a blue sky", "size": "300x200", "model_id": model_id}
        drawn = call(farm, access, "POST", "/image/generate", json=body).json()

    picture = Image.open(io.BytesIO(CLIENT.get(drawn["data"]["image_url"], timeout=30).content))
    assert drawn["data"]["credits_used"] == 4
    assert picture.size == (300, 200) and picture.convert("RGB").getpixel((9, 9)) == (10, 120, 200)
    assert server.requests[0]["json"]["size"] == "300x200"


@pytest.fixture(scope="module")
def closed_farm(tmp_path_factory, redis_url: str) -> Iterator[Farm]:  # type: ignore[no-untyped-def]
    """The API alone, with registration turned off (its own SQLite)."""
    farm = Farm(tmp_path_factory.mktemp("closed"), redis_url, None, content_registration="false")
    farm.migrate()
    try:
        farm.start_web()
        yield farm
    finally:
        farm.stop_all()


def test_registration_turned_off_is_403_in_the_envelope(closed_farm: Farm) -> None:
    body = {"username": "someone", "email": "someone@example.com", "password": "password123"}

    refused = call(closed_farm, None, "POST", "/auth/register", json=body)

    assert (refused.status_code, refused.json()["code"]) == (403, 403)
    assert refused.json()["data"] is None
