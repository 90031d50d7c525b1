"""The smartmanu dialect on the real farm, driven as its clients drive it: a token from
/auth/token, designs generated and polled, batches with an X-Callback-Url, progress
over the WebSocket."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from PIL import Image
from standardwebhooks import Webhook
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from tests.farm import Farm, RedisServer, free_port, wait_until
from tests.receiver import WebhookReceiver

TECH_TEE = {
    "product_type": "t_shirt",
    "params": {"color": "navy_blue", "pattern": {"type": "ai_generate", "prompt": "科技感线条"}},
}
# A quick design: a plain chest print, for the big batches.
CHEST_SOLID = {
    "product_type": "t_shirt",
    "params": {
        "color": "white",
        "placement": "left_chest",
        "pattern": {"type": "solid", "color": "#1f4e79"},
    },
}

# Six inks and a white underbase on a black shirt: more screens than screen printing allows.
TOO_MANY_SCREENS = {
    "product_type": "t_shirt",
    "params": {
        "color": "black",
        "print_process": "screen",
        "pattern": {
            "type": "stripes",
            "colors": ["red", "orange", "yellow", "forest_green", "royal_blue", "purple"],
        },
    },
}


class Smartmanu:
    """A seed client: a token first, then JSON calls with it."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base = base_url
        prefix, secret = api_key.rsplit("_", 1) if api_key.count("_") == 2 else (api_key, "")
        answer = requests.post(
            f"{base_url}/auth/token", json={"api_key": prefix, "secret": secret}, timeout=10
        )
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["token"]
        self.expires_in = answer.json()["expires_in"]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def post(self, path: str, body: Any, **headers: str) -> requests.Response:
        return requests.post(
            self.base + path, json=body, headers={**self.headers, **headers}, timeout=60
        )

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(self.base + path, params=params, headers=self.headers, timeout=30)


@pytest.fixture
def client(farm: Farm, tenant) -> Smartmanu:  # type: ignore[no-untyped-def]
    return Smartmanu(farm.base_url, tenant.creds.api_key)


def test_a_token_is_issued_for_an_hour(client: Smartmanu) -> None:
    assert client.expires_in == 3600
    assert client.token.startswith("smt_")


def test_no_or_a_bad_token_is_401_with_the_hint_to_reauthenticate(farm: Farm) -> None:
    for headers in ({}, {"Authorization": "Bearer smt_nope.nope"}):
        response = requests.post(
            f"{farm.base_url}/v2/design/generate", json=TECH_TEE, headers=headers, timeout=10
        )

        assert response.status_code == 401
        assert response.json()["code"] == 401
        assert "/auth/token" in response.json()["message"]


def test_a_wrong_secret_gets_no_token(farm: Farm, tenant) -> None:  # type: ignore[no-untyped-def]
    prefix = tenant.creds.api_key.rsplit("_", 1)[0]
    response = requests.post(
        f"{farm.base_url}/auth/token", json={"api_key": prefix, "secret": "wrong"}, timeout=10
    )

    assert response.status_code == 401


def test_generate_answers_with_the_design_its_files_and_materials(client: Smartmanu) -> None:
    response = client.post("/v2/design/generate", TECH_TEE)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    data = body["data"]
    assert re.fullmatch(r"DSG-\d{4}-[0-9A-F]{16}", data["design_id"])
    preview = Image.open(io.BytesIO(requests.get(data["preview_url"], timeout=30).content))
    assert preview.size == (1024, 1024)
    assert isinstance(data["production_ready"], bool)
    fabric = [m for m in data["materials"] if m["type"] == "fabric"]
    assert fabric and re.fullmatch(r"[\d.]+m", fabric[0]["consumption"])
    polled = client.get(f"/v2/design/{data['design_id']}").json()["data"]
    # The same design; its URLs are signed afresh, so only their expiry may differ.
    unsigned = {k: v.split("?")[0] if k.endswith("_url") else v for k, v in data.items()}
    assert {k: v.split("?")[0] if k.endswith("_url") else v for k, v in polled.items()} == unsigned


def test_an_infeasible_design_is_5003_and_its_alternatives_are_feasible(
    client: Smartmanu,
) -> None:
    refused = client.post("/v2/design/generate", TOO_MANY_SCREENS)

    assert refused.status_code == 422
    assert refused.json()["code"] == 5003
    assert any("screen" in reason for reason in refused.json()["data"]["reasons"])
    offered = client.post("/v2/design/alternative", TOO_MANY_SCREENS)
    assert offered.status_code == 200, offered.text
    alternatives = offered.json()["data"]["alternatives"]
    assert alternatives
    for alternative in alternatives:
        made = client.post("/v2/design/generate", alternative)
        assert made.status_code == 200, (alternative, made.text)


def test_bad_params_are_400_naming_the_field(client: Smartmanu) -> None:
    body = {"product_type": "t_shirt", "params": {"color": "no_such_colour"}}

    response = client.post("/v2/design/generate", body)

    assert response.status_code == 400
    assert response.json()["status"] == "error"
    assert "color" in response.json()["message"]


def test_a_batch_with_a_repeated_task_id_is_refused_whole(client: Smartmanu) -> None:
    tasks = [{"task_id": str(i % 3), "design_params": CHEST_SOLID} for i in range(5)]

    response = client.post("/v2/async/batch", {"tasks": tasks})

    assert response.status_code == 400
    assert response.json()["data"]["task_id"] == "0"


def test_a_batch_with_one_bad_task_names_it(client: Smartmanu) -> None:
    bad = {"product_type": "spaceship", "params": {}}
    tasks = [{"task_id": "a", "design_params": CHEST_SOLID}, {"task_id": "b", "design_params": bad}]

    response = client.post("/v2/async/batch", {"tasks": tasks})

    assert response.status_code == 400
    assert "task_id 'b'" in response.json()["message"]


def test_a_batchs_task_ids_are_stored_byte_for_byte_and_unstorable_ones_are_400(
    client: Smartmanu, farm: Farm
) -> None:
    odd = ["tab\there", "back\\slash", 'quote"中文', "new\nline"]
    tasks = [{"task_id": task_id, "design_params": CHEST_SOLID} for task_id in odd]

    answer = client.post("/v2/async/batch", {"tasks": tasks})
    assert answer.status_code == 200, answer.text
    batch_id = answer.json()["data"]["batch_id"]
    page = client.get(f"/v2/async/batch/{batch_id}").json()["data"]["tasks"]
    assert sorted(task["task_id"] for task in page) == sorted(odd)

    # A NUL is refused by PostgreSQL (and stored by SQLite): never a 500.
    nul = [{"task_id": "nul\u0000", "design_params": CHEST_SOLID}]
    answer = client.post("/v2/async/batch", {"tasks": nul})
    refused = not farm.database_url.startswith("sqlite")
    assert answer.status_code == (400 if refused else 200), answer.text
    assert answer.json()["status"] == ("error" if refused else "success")


def verified(secret: str, receiver: WebhookReceiver) -> list[dict[str, Any]]:
    hook = Webhook(secret)
    return [hook.verify(r.body, r.headers) for r in receiver.successes()]


def test_a_thousand_task_batch_calls_back_each_task_and_then_the_batch(
    client: Smartmanu,
    tenant,  # type: ignore[no-untyped-def]
) -> None:
    port = free_port()
    callback = f"http://127.0.0.1:{port}/hook"
    tasks = [
        {"task_id": f"t{i:04d}", "design_params": TOO_MANY_SCREENS if i % 100 == 7 else CHEST_SOLID}
        for i in range(1000)
    ]

    response = client.post("/v2/async/batch", {"tasks": tasks}, **{"X-Callback-Url": callback})
    assert response.status_code == 200, response.text
    batch_id = response.json()["data"]["batch_id"]
    # The receiver is down while the first tasks finish; their callbacks are retried.
    wait_until(
        lambda: client.get(f"/v2/async/batch/{batch_id}").json()["data"]["succeeded"] > 0,
        60,
        "the first task to finish",
    )
    with WebhookReceiver(port=port) as receiver:
        wait_until(lambda: len(receiver.successes()) >= 1001, 300, "every callback")
        bodies = verified(tenant.creds.webhook_secret, receiver)

    task_calls = [b for b in bodies if b["event"].startswith("task.")]
    batch_calls = [b for b in bodies if b["event"] == "batch.completed"]
    assert sorted(b["task_id"] for b in task_calls) == [t["task_id"] for t in tasks]
    infeasible = [b for b in task_calls if b["status"] == "error"]
    assert sorted(b["task_id"] for b in infeasible) == [f"t{i:04d}" for i in range(7, 1000, 100)]
    assert {b["code"] for b in infeasible} == {5003}
    assert all(b["data"]["reasons"] for b in infeasible)
    assert len(batch_calls) == 1
    assert (batch_calls[0]["total"], batch_calls[0]["succeeded"]) == (1000, 990)
    assert batch_calls[0]["failed"] == 10
    summary = client.get(f"/v2/async/batch/{batch_id}", page=2, page_size=100).json()["data"]
    assert (summary["succeeded"], summary["failed"], summary["queued"]) == (990, 10, 0)
    assert [t["task_id"] for t in summary["tasks"]] == [f"t{i:04d}" for i in range(100, 200)]


def progress_messages(farm: Farm, token: str, order_id: str) -> list[dict[str, Any]]:
    url = f"ws://127.0.0.1:{farm.port}/ws/progress?order_id={order_id}&token={token}"
    with connect(url, open_timeout=10, close_timeout=5) as socket:
        return [json.loads(message) for message in socket]


def test_the_websocket_follows_a_design_to_100(client: Smartmanu, farm: Farm) -> None:
    body = {
        **TECH_TEE,
        "params": {
            **TECH_TEE["params"],
            "pattern": {"type": "ai_generate", "prompt": "星空 waves"},
        },
    }
    tasks = [{"task_id": "only", "design_params": body}]
    batch_id = client.post("/v2/async/batch", {"tasks": tasks}).json()["data"]["batch_id"]
    design_id = client.get(f"/v2/async/batch/{batch_id}").json()["data"]["tasks"][0]["design_id"]

    messages = progress_messages(farm, client.token, design_id)

    completions = [m["completion"] for m in messages]
    assert completions == sorted(completions)
    assert completions[-1] == 100
    assert set(messages[-1]) == {"timestamp", "stage", "completion", "alert"}


def test_the_websocket_follows_a_batch_to_100(client: Smartmanu, farm: Farm) -> None:
    tasks = [{"task_id": str(i), "design_params": CHEST_SOLID} for i in range(20)]
    batch_id = client.post("/v2/async/batch", {"tasks": tasks}).json()["data"]["batch_id"]

    messages = progress_messages(farm, client.token, batch_id)

    completions = [m["completion"] for m in messages]
    assert completions == sorted(completions) and completions[-1] == 100
    assert messages[-1]["stage"] == "completed"


def test_the_websocket_refuses_a_connection_without_a_token(farm: Farm) -> None:
    url = f"ws://127.0.0.1:{farm.port}/ws/progress?order_id=DSG-2026-0"
    with pytest.raises(Exception), connect(url, open_timeout=10) as socket:  # noqa: B017
        socket.recv(timeout=5)


def test_the_websocket_takes_its_token_as_the_bearer_subprotocol(
    client: Smartmanu, farm: Farm
) -> None:
    tasks = [{"task_id": "one", "design_params": CHEST_SOLID}]
    batch_id = client.post("/v2/async/batch", {"tasks": tasks}).json()["data"]["batch_id"]
    url = f"ws://127.0.0.1:{farm.port}/ws/progress?order_id={batch_id}"
    offered = [Subprotocol("bearer"), Subprotocol(client.token)]

    with connect(url, subprotocols=offered, open_timeout=10, close_timeout=5) as socket:
        chosen = socket.subprotocol
        messages = [json.loads(message) for message in socket]

    assert chosen == "bearer"
    assert messages[-1]["completion"] == 100


# 47 megapixels in about 50 KB of PNG: one grey, compressed flat.
POSTER_PX = (8000, 5875)
API_PEAK_RSS_KIB = 400 * 1024


def flat_png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, 128).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def test_a_47_megapixel_image_is_judged_without_growing_the_api_and_drawn_by_the_worker(
    client: Smartmanu,
    farm: Farm,
    tenant,  # type: ignore[no-untyped-def]
) -> None:
    upload = tenant.api.post("/v1/files", params={"name": "poster.png"}, data=flat_png(POSTER_PX))
    assert upload.status_code == 201, upload.text
    pattern = {"type": "image", "file_id": upload.json()["id"]}
    body = {"product_type": "t_shirt", "params": {"color": "white", "pattern": pattern}}
    farm.reset_peak_memory("web")

    offered = client.post("/v2/design/alternative", body)
    judged_peak_kib = farm.memory_kib("web", "VmHWM")
    made = client.post("/v2/design/generate", body)

    # 8000 pixels over a 12 in wide print area: sharp, so nothing to offer instead.
    assert offered.status_code == 200, offered.text
    assert offered.json() == {"status": "success", "data": {"alternatives": []}}
    assert judged_peak_kib < API_PEAK_RSS_KIB
    assert made.status_code == 200, made.text
    assert made.json()["data"]["production_ready"] is True
    assert farm.memory_kib("web", "VmHWM") < API_PEAK_RSS_KIB


def test_past_1000_calls_a_minute_the_caller_gets_429(farm: Farm, make_tenant) -> None:  # type: ignore[no-untyped-def]
    client = Smartmanu(farm.base_url, make_tenant().creds.api_key)
    session = requests.Session()
    session.headers.update(client.headers)
    answers = []
    for _ in range(1500):
        answers.append(session.get(f"{farm.base_url}/v2/design/DSG-2026-NONE", timeout=10))
        if answers[-1].status_code == 429:
            break

    assert answers[0].status_code == 404
    assert answers[0].headers["X-RateLimit-Remaining"] == "999"
    limited = answers[-1]
    assert limited.status_code == 429
    assert limited.json()["code"] == 429
    assert 1000 <= len(answers) < 1500


@pytest.fixture(scope="module")
def farm_without_workers(tmp_path_factory, own_database_url: str | None) -> Iterator[Farm]:  # type: ignore[no-untyped-def]
    """An API whose designs never start: no worker, on a Redis of its own."""
    root = tmp_path_factory.mktemp("idle")
    server = RedisServer(root / "redis")
    server.start()
    farm = Farm(root, server.url, own_database_url, design_wait_s=0.5)
    farm.migrate()
    try:
        farm.start_web()
        yield farm
    finally:
        farm.stop_all()
        server.stop()


def test_past_the_wait_generate_answers_processing_and_the_design_can_be_polled(
    farm_without_workers: Farm,
) -> None:
    client = Smartmanu(
        farm_without_workers.base_url, farm_without_workers.create_key("idle").api_key
    )

    answer = client.post("/v2/design/generate", TECH_TEE)

    assert answer.status_code == 202
    assert answer.json()["status"] == "processing"
    design_id = answer.json()["data"]["design_id"]
    polled = client.get(f"/v2/design/{design_id}")
    assert (polled.status_code, polled.json()["status"]) == (202, "processing")
    assert polled.json()["data"]["progress_url"] == f"/ws/progress?order_id={design_id}"
