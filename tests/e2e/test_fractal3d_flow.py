"""fractal3d's flow against `jobfarm up`, as its client code does it: upload a STEP
part, convert it and thumbnail it, poll both, download both, get both webhooks."""

from __future__ import annotations

import io
from pathlib import Path

import requests
import trimesh
from PIL import Image
from standardwebhooks import Webhook

from tests.e2e.conftest import RunningFarm
from tests.farm import wait_until
from tests.receiver import WebhookReceiver

PART = Path(__file__).parents[1] / "fixtures" / "cad" / "featuretype.STEP"


def test_a_step_part_is_converted_and_thumbnailed_over_the_api(running_farm: RunningFarm) -> None:
    creds = running_farm.new_key("fractal3d-client")
    api = running_farm.api_url + "/api"
    auth = {"Authorization": f"Bearer {creds['api_key']}"}
    data = PART.read_bytes()
    upload = requests.post(
        f"{api}/files",
        params={"file_name": PART.name, "file_size": len(data), "file_retention_days": 30},
        data=data,
        headers={**auth, "Content-Type": "application/octet-stream"},
        timeout=30,
    )
    assert upload.status_code == 200, upload.text
    file_id = upload.json()["file_id"]

    with WebhookReceiver() as receiver:
        source = {"file_id": file_id, "file_name": PART.name, "webhook_url": receiver.url}
        convert = requests.post(
            f"{api}/converts", json={**source, "target_format": "e3dx"}, headers=auth, timeout=30
        ).json()["transaction_id"]
        thumb = requests.post(
            f"{api}/thumbnail",
            json={**source, "width": 256, "height": 256},
            headers=auth,
            timeout=30,
        ).json()["transaction_id"]

        def result(path: str, transaction_id: str) -> dict | None:  # type: ignore[type-arg]
            body = requests.get(
                f"{api}/{path}/result_file",
                params={"transaction_id": transaction_id},
                headers=auth,
                timeout=30,
            ).json()
            return body if body["status"] != "Pending" else None

        converted = wait_until(lambda: result("converts", convert), 120, "the conversion")
        thumbnailed = wait_until(lambda: result("thumbnail", thumb), 120, "the thumbnail")
        wait_until(lambda: len(receiver.successes()) == 2, 60, "both webhooks")

    assert converted["status"] == thumbnailed["status"] == "Succeeded"
    glb = requests.get(converted["url"], timeout=30).content
    assert len(trimesh.load(io.BytesIO(glb), file_type="glb", force="scene").to_mesh().faces) > 0
    png = Image.open(io.BytesIO(requests.get(thumbnailed["url"], timeout=30).content))
    assert png.size == (256, 256)
    bodies = [Webhook(creds["webhook_secret"]).verify(r.body, r.headers) for r in receiver.received]
    assert {b["transaction_id"] for b in bodies} == {convert, thumb}
    assert {b["status"] for b in bodies} == {"Succeeded"}
