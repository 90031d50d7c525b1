"""The fractal3d dialect driven as its clients drive it: plain `requests`, the seed's
paths, fields and status words, against the real farm."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
import trimesh
from PIL import Image
from standardwebhooks import Webhook

from tests.farm import Farm, wait_until
from tests.receiver import WebhookReceiver

FIXTURES = Path(__file__).parents[1] / "fixtures" / "cad"
BAD = FIXTURES / "bad"


class Fractal3d:
    """What a seed client does: Bearer auth, JSON bodies, octet-stream uploads."""

    def __init__(self, base_url: str, token: str | None) -> None:
        self.base = base_url + "/api"
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def upload(self, data: bytes, name: str, **params: Any) -> requests.Response:
        return requests.post(
            f"{self.base}/files",
            params={"file_name": name, "file_size": len(data), **params},
            data=data,
            headers={**self.headers, "Content-Type": "application/octet-stream"},
            timeout=30,
        )

    def upload_ok(self, path: Path, name: str | None = None) -> str:
        response = self.upload(path.read_bytes(), name or path.name)
        assert response.status_code == 200, response.text
        return str(response.json()["file_id"])

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(f"{self.base}{path}", json=body, headers=self.headers, timeout=30)

    def get(self, path: str, **params: str) -> requests.Response:
        return requests.get(f"{self.base}{path}", params=params, headers=self.headers, timeout=30)

    def start(self, path: str, body: dict[str, Any]) -> str:
        response = self.post(path, body)
        assert response.status_code == 200, response.text
        return str(response.json()["transaction_id"])

    def wait_result(self, path: str, transaction_id: str, timeout_s: float = 120) -> dict:  # type: ignore[type-arg]
        def ended() -> dict | None:  # type: ignore[type-arg]
            response = self.get(f"{path}/result_file", transaction_id=transaction_id)
            assert response.status_code == 200, response.text
            body = response.json()
            return body if body["status"] != "Pending" else None

        return dict(wait_until(ended, timeout_s, f"{transaction_id} to end"))


@pytest.fixture
def client(farm: Farm, tenant) -> Fractal3d:  # type: ignore[no-untyped-def]
    return Fractal3d(farm.base_url, tenant.creds.api_key)


def test_upload_convert_poll_and_download_the_glb(client: Fractal3d) -> None:
    file_id = client.upload_ok(FIXTURES / "featuretype.STL")
    info = client.get("/files", file_id=file_id).json()
    assert info["file_name"] == "featuretype.STL"
    assert info["size"] == (FIXTURES / "featuretype.STL").stat().st_size
    assert (
        requests.get(info["signed_url"], timeout=30).content
        == (FIXTURES / "featuretype.STL").read_bytes()
    )

    transaction_id = client.start(
        "/converts", {"file_id": file_id, "file_name": "featuretype.STL", "target_format": "e3dx"}
    )
    result = client.wait_result("/converts", transaction_id)

    assert result["status"] == "Succeeded", result
    glb = requests.get(result["url"], timeout=30).content
    mesh = trimesh.load(io.BytesIO(glb), file_type="glb", force="scene").to_mesh()
    source = trimesh.load(FIXTURES / "featuretype.STL")
    assert len(mesh.faces) == len(source.faces)
    assert mesh.bounds == pytest.approx(source.bounds, abs=1e-4)


def test_a_drawing_converts_to_e2dx_svg(client: Fractal3d) -> None:
    drawing = next(p for p in sorted((FIXTURES / "2d").iterdir()) if p.suffix.lower() == ".dxf")
    file_id = client.upload_ok(drawing)

    transaction_id = client.start(
        "/converts", {"file_id": file_id, "file_name": drawing.name, "target_format": "e2dx"}
    )
    result = client.wait_result("/converts", transaction_id)

    assert result["status"] == "Succeeded", result
    svg = requests.get(result["url"], timeout=30).content
    assert b"<svg" in svg and b"viewBox" in svg


def test_thumbnail_by_url_is_a_png_of_the_asked_size(client: Fractal3d) -> None:
    file_id = client.upload_ok(FIXTURES / "fuze.obj")
    url = client.get("/files", file_id=file_id).json()["signed_url"]

    transaction_id = client.start(
        "/thumbnail", {"url": url, "file_name": "fuze.obj", "width": 320, "height": 200}
    )
    result = client.wait_result("/thumbnail", transaction_id)

    assert result["status"] == "Succeeded", result
    image = Image.open(io.BytesIO(requests.get(result["url"], timeout=30).content))
    assert image.format == "PNG"
    assert image.size == (320, 200)
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    background = (pixels == 255).all(axis=1)
    assert 0.05 < 1 - background.mean() < 0.95  # the model covers a real share of the frame


def test_webhook_url_receives_the_signed_result(client: Fractal3d, tenant) -> None:  # type: ignore[no-untyped-def]
    file_id = client.upload_ok(FIXTURES / "ballA.off")
    with WebhookReceiver() as receiver:
        transaction_id = client.start(
            "/converts",
            {
                "file_id": file_id,
                "file_name": "ballA.off",
                "target_format": "e3dx",
                "webhook_url": receiver.url,
            },
        )
        wait_until(receiver.successes, 60, "the webhook")

    [hit] = receiver.received
    body = Webhook(tenant.creds.webhook_secret).verify(hit.body, hit.headers)
    assert body["transaction_id"] == transaction_id
    assert body["status"] == "Succeeded"
    glb = requests.get(body["url"], timeout=30).content
    assert glb[:4] == b"glTF"


BAD_INPUTS = [
    # bad/busted.STL is a valid model with zeroed normals (see fixtures' NOTICE.md).
    *(
        pytest.param(p.name, p.read_bytes(), id=p.name)
        for p in sorted(BAD.iterdir())
        if p.name != "busted.STL"
    ),
    pytest.param(
        "truncated.stl", (FIXTURES / "featuretype.STL").read_bytes()[:5000], id="truncated-stl"
    ),
    pytest.param("random.step", bytes(range(256)) * 40, id="random-bytes-step"),
    pytest.param("picture.obj", b"\x89PNG\r\n\x1a\n" + bytes(400), id="png-named-obj"),
    pytest.param("nothing.stl", b"", id="empty-upload"),
]


@pytest.mark.parametrize(("name", "data"), BAD_INPUTS)
def test_bad_inputs_end_failed_with_a_reason(client: Fractal3d, name: str, data: bytes) -> None:
    response = client.upload(data, name)
    assert response.status_code == 200, response.text
    file_id = response.json()["file_id"]
    good = client.upload_ok(FIXTURES / "fuze.obj")

    bad_id = client.start(
        "/converts", {"file_id": file_id, "file_name": name, "target_format": "e3dx"}
    )
    good_id = client.start(
        "/converts", {"file_id": good, "file_name": "fuze.obj", "target_format": "e3dx"}
    )

    failed = client.wait_result("/converts", bad_id)
    assert failed["status"] == "Failed"
    assert failed["url"] is None
    assert len(failed["message"]) > 10
    assert client.wait_result("/converts", good_id)["status"] == "Succeeded"
