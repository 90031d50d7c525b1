"""The content dialect's credit and model endpoints on the real farm, in the seed's
`{code, message, data}` envelope; top-ups through `jobfarm credits add`."""

from __future__ import annotations

import io
import json
import os
import signal
from typing import Any

import av
import requests
from pptx import Presentation

from tests.chat_server import serve_chat
from tests.farm import Farm, free_port, wait_until

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


def local_model(farm: Farm, key: str, cost: int) -> int:
    body = {"name": "local", "provider": "local", "model_name": "local", "credits_cost": cost}
    return int(call(farm, key, "POST", "/models", json=body).json()["data"]["id"])


def funded(farm: Farm, tenant, amount: int) -> str:  # type: ignore[no-untyped-def]
    added = farm.jobfarm(
        "credits", "add", "--tenant", tenant.creds.tenant_id, "--amount", str(amount)
    )
    assert added.returncode == 0, added.stderr
    return str(tenant.creds.api_key)


def video_status(farm: Farm, key: str, task_id: str) -> dict[str, Any]:
    return dict(call(farm, key, "GET", f"/video/{task_id}/status").json()["data"])


def wait_video(farm: Farm, key: str, task_id: str) -> dict[str, Any]:
    return dict(
        wait_until(
            lambda: (s := video_status(farm, key, task_id))["status"] != "processing" and s,
            120,
            "the video to end",
        )
    )


def balance(farm: Farm, key: str) -> int:
    return int(call(farm, key, "GET", "/credit/balance").json()["data"]["credit_balance"])


SCRIPT = "第一幕：清晨的城市醒来。第二幕：人们走进地铁。第三幕：夜晚灯火通明。"


def generate_video(farm: Farm, key: str, model_id: int, duration: int) -> requests.Response:
    body = {"script": SCRIPT, "duration": duration, "model_id": model_id}
    return call(farm, key, "POST", "/video/generate", json=body)


def test_a_video_is_made_charged_once_and_plays_for_its_duration(farm: Farm, tenant) -> None:  # type: ignore[no-untyped-def]
    key = funded(farm, tenant, 100)
    model_id = local_model(farm, key, 50)

    created = generate_video(farm, key, model_id, 12).json()
    assert (created["code"], created["message"]) == (200, "任务已创建")
    done = wait_video(farm, key, created["data"]["task_id"])

    assert done["status"] == "completed", done
    assert done["credits_used"] == 50
    assert balance(farm, key) == 50
    with av.open(io.BytesIO(requests.get(done["video_url"], timeout=30).content)) as container:
        stream = container.streams.video[0]
        assert abs(float(stream.frames / stream.average_rate) - 12) <= 1 / float(
            stream.average_rate
        )


def test_too_few_credits_is_40001_and_nothing_is_queued(farm: Farm, tenant) -> None:  # type: ignore[no-untyped-def]
    key = funded(farm, tenant, 10)
    model_id = local_model(farm, key, 50)

    refused = generate_video(farm, key, model_id, 5)

    assert refused.json()["code"] == 40001
    assert balance(farm, key) == 10
    assert tenant.api.get("/v1/jobs").json()["total"] == 0


def test_an_unreachable_model_fails_with_40006_and_refunds(farm: Farm, tenant) -> None:  # type: ignore[no-untyped-def]
    key = funded(farm, tenant, 100)
    body = {
        "name": "gone",
        "provider": "openai",
        "model_name": "gpt-x",
        "api_key": "sk-never-stored-with-the-job",
        "api_base": f"http://127.0.0.1:{free_port()}/v1",
        "credits_cost": 30,
    }
    model_id = call(farm, key, "POST", "/models", json=body).json()["data"]["id"]

    task_id = generate_video(farm, key, model_id, 5).json()["data"]["task_id"]
    done = wait_video(farm, key, task_id)

    assert done["status"] == "failed"
    assert done["error"]["code"] == 40006
    assert (done["credits_used"], balance(farm, key)) == (0, 100)
    assert "sk-never" not in json.dumps(tenant.api.job(task_id))


def test_a_deck_is_made_within_the_request(farm: Farm, tenant) -> None:  # type: ignore[no-untyped-def]
    key = funded(farm, tenant, 100)
    model_id = local_model(farm, key, 30)
    outline = ["产品介绍", "核心功能", "市场分析", "Roadmap", "团队"]

    answer = call(
        farm,
        key,
        "POST",
        "/ppt/generate",
        json={"topic": "产品发布会", "outline": outline, "model_id": model_id},
    ).json()

    assert (answer["code"], answer["data"]["credits_used"]) == (200, 30), answer
    deck = Presentation(
        io.BytesIO(requests.get(answer["data"]["download_url"], timeout=30).content)
    )
    assert len(deck.slides) == 7
    assert balance(farm, key) == 70


def test_a_video_canceled_mid_encode_is_refunded_and_leaves_no_file(farm: Farm, tenant) -> None:  # type: ignore[no-untyped-def]
    key = funded(farm, tenant, 100)
    model_id = local_model(farm, key, 40)
    task_id = generate_video(farm, key, model_id, 300).json()["data"]["task_id"]
    wait_until(lambda: tenant.api.job(task_id)["completion"] > 1, 60, "the encoder to be under way")

    assert tenant.api.post(f"/v1/jobs/{task_id}/cancel").status_code == 200

    done = wait_video(farm, key, task_id)
    assert done["status"] == "failed"
    assert (done["credits_used"], balance(farm, key)) == (0, 100)
    assert done["video_url"] is None
    assert tenant.api.job(task_id)["outputs"] == []
    # The killed run's scratch directory (and its .part file) goes after the next jobs.
    for _ in range(4):
        tenant.api.wait_final(tenant.api.submit()["id"])
    assert not list((farm.var_dir / "work").glob(f"{task_id}.*"))


def test_a_video_whose_worker_is_killed_runs_again_and_is_charged_once(farm: Farm, tenant) -> None:  # type: ignore[no-untyped-def]
    key = funded(farm, tenant, 100)
    model_id = local_model(farm, key, 35)
    task_id = generate_video(farm, key, model_id, 40).json()["data"]["task_id"]
    running = wait_until(
        lambda: (j := tenant.api.job(task_id))["completion"] > 5 and j, 60, "the encoder"
    )

    os.kill(running["worker_pid"], signal.SIGKILL)

    done = wait_video(farm, key, task_id)
    assert done["status"] == "completed"
    assert tenant.api.job(task_id)["attempts"] == 2
    assert (done["credits_used"], balance(farm, key)) == (35, 65)
    ledger = call(farm, key, "GET", "/credit/transactions").json()["data"]["items"]
    assert sorted(i["type"] for i in ledger if i["task_id"] == task_id) == ["charge", "reserve"]


def test_a_registered_chat_model_writes_the_slides_of_a_deck(farm: Farm, tenant) -> None:  # type: ignore[no-untyped-def]
    key = funded(farm, tenant, 100)
    slides = [
        {"title": "产品发布会", "bullets": ["2026 春季"]},
        {"title": "核心功能：更快", "bullets": ["启动只要一秒", "离线可用"]},
        {"title": "市场：亚洲优先", "bullets": ["先做上海与新加坡"]},
    ]
    with serve_chat() as chat:
        chat.content = json.dumps({"slides": slides})
        model = {
            "name": "chat",
            "provider": "openai",
            "model_name": "qwen-max",
            "api_key": "sk-chat",
            "api_base": chat.url,
            "credits_cost": 15,
        }
        model_id = call(farm, key, "POST", "/models", json=model).json()["data"]["id"]
        answer = call(
            farm,
            key,
            "POST",
            "/ppt/generate",
            json={"topic": "产品发布会", "outline": ["核心功能", "市场分析"], "model_id": model_id},
        ).json()

    assert answer["code"] == 200, answer
    [request] = chat.requests
    assert request["json"]["model"] == "qwen-max"
    assert request["headers"]["Authorization"] == "Bearer sk-chat"
    assert "市场分析" in request["json"]["messages"][1]["content"]
    deck = Presentation(
        io.BytesIO(requests.get(answer["data"]["download_url"], timeout=30).content)
    )
    text = [
        shape.text_frame.text
        for slide in deck.slides
        for shape in slide.shapes
        if shape.has_text_frame
    ]
    assert any("核心功能：更快" in t for t in text)
    assert any("先做上海与新加坡" in t for t in text)
