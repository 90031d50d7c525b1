"""The farm with its blobs in S3 (a real SeaweedFS): uploads streamed into the bucket,
jobs fetching inputs and storing outputs there, downloads proxied or redirected to
presigned URLs, retention deleting objects, and nothing ever written to var/blobs."""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests
import trimesh
from PIL import Image

from storage.urls import DOWNLOAD_PATH
from tests.farm import Farm, RedisServer, wait_until
from tests.integration.conftest import FAST_SETTINGS
from tests.integration.test_upkeep import age_past_retention
from tests.s3 import SeaweedS3

FIXTURES = Path(__file__).parents[1] / "fixtures" / "cad"
MIB = 1024 * 1024
PART = 5 * MIB
# The streamed upload's size: 1 GiB, the acceptance figure (about 25 s here); a
# smaller one (JOBFARM_TEST_S3_UPLOAD_BYTES) takes the same path.
BIG_UPLOAD_BYTES = int(os.environ.get("JOBFARM_TEST_S3_UPLOAD_BYTES", str(1024 * MIB)))
API_PEAK_RSS_LIMIT_KIB = 300 * 1024


class S3Farm:
    """A farm whose blobs live in `bucket` on `s3`."""

    def __init__(self, farm: Farm, s3: SeaweedS3, bucket: str) -> None:
        self.farm, self.s3, self.bucket = farm, s3, bucket

    def names(self, under: str = "") -> list[str]:
        return self.s3.names(self.bucket, f"blobs/{under}")

    def local_blobs(self) -> list[Path]:
        root = self.farm.var_dir / "blobs"
        return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []

    def restart_web(self, **settings: str) -> None:
        self.farm.stop("web")
        self.farm.env.update({f"JOBFARM_{k.upper()}": v for k, v in settings.items()})
        self.farm.start_web()


@pytest.fixture(scope="module")
def s3_farm(
    tmp_path_factory: pytest.TempPathFactory, own_database_url: str | None, s3_server: SeaweedS3
) -> Iterator[S3Farm]:
    """A farm on a Redis of its own, its blobs in a fresh bucket, parts of 5 MiB."""
    root = tmp_path_factory.mktemp("s3farm")
    redis_server = RedisServer(root / "redis")
    redis_server.start()
    bucket = s3_server.new_bucket()
    settings: dict[str, Any] = {
        **FAST_SETTINGS,
        **s3_server.settings(bucket),
        "blob_s3_part_bytes": PART,
        "blob_downloads": "proxy",
    }
    farm = Farm(root, redis_server.url, own_database_url, **settings)
    farm.migrate()
    try:
        farm.start_roles(long=1, short=1, beat=False)
        yield S3Farm(farm, s3_server, bucket)
    finally:
        farm.stop_all()
        redis_server.stop()


@pytest.fixture
def api_key(s3_farm: S3Farm) -> str:
    return s3_farm.farm.create_key("s3-tenant").api_key


def fractal3d_upload(farm: Farm, key: str, data: bytes, name: str, size: int | None = None) -> Any:
    return requests.post(
        f"{farm.base_url}/api/files",
        params={"file_name": name, "file_size": len(data) if size is None else size},
        data=data,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/octet-stream"},
        timeout=60,
    )


def fractal3d_run(farm: Farm, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """Start a fractal3d transaction and wait for its result."""
    auth = {"Authorization": f"Bearer {key}"}
    started = requests.post(f"{farm.base_url}/api{path}", json=body, headers=auth, timeout=30)
    assert started.status_code == 200, started.text
    transaction = started.json()["transaction_id"]

    def ended() -> dict[str, Any] | None:
        got = requests.get(
            f"{farm.base_url}/api{path}/result_file",
            params={"transaction_id": transaction},
            headers=auth,
            timeout=30,
        ).json()
        return got if got["status"] != "Pending" else None

    return dict(wait_until(ended, 120, f"{transaction} to end"))


def test_an_upload_converts_and_thumbnails_with_every_blob_in_the_bucket(
    s3_farm: S3Farm, api_key: str
) -> None:
    farm, model = s3_farm.farm, FIXTURES / "featuretype.STL"
    uploaded = fractal3d_upload(farm, api_key, model.read_bytes(), model.name)
    assert uploaded.status_code == 200, uploaded.text
    file_id = uploaded.json()["file_id"]

    converted = fractal3d_run(
        farm,
        api_key,
        "/converts",
        {"file_id": file_id, "file_name": model.name, "target_format": "e3dx"},
    )
    thumbnail = fractal3d_run(
        farm,
        api_key,
        "/thumbnail",
        {"file_id": file_id, "file_name": model.name, "width": 160, "height": 120},
    )

    assert converted["status"] == "Succeeded", converted
    glb = requests.get(converted["url"], timeout=30).content
    mesh = trimesh.load(io.BytesIO(glb), file_type="glb", force="scene").to_mesh()
    assert len(mesh.faces) == len(trimesh.load(model).faces)
    assert thumbnail["status"] == "Succeeded", thumbnail
    image = Image.open(io.BytesIO(requests.get(thumbnail["url"], timeout=30).content))
    assert (image.format, image.size) == ("PNG", (160, 120))
    outputs = [name.rpartition("/")[2] for name in s3_farm.names("jobs/")]
    assert "featuretype.glb" in outputs and any(n.endswith(".png") for n in outputs)
    assert any(name.endswith(f"/{file_id}") for name in s3_farm.names("uploads/"))
    assert any(key.endswith(f"/{file_id}") for key in farm.blob_keys("uploads"))
    assert s3_farm.local_blobs() == []


def test_the_api_refuses_a_2d_drawing_for_e3dx_by_reading_the_upload_from_the_bucket(
    s3_farm: S3Farm, api_key: str
) -> None:
    drawing = next(p for p in sorted((FIXTURES / "2d").iterdir()) if p.suffix.lower() == ".dxf")
    file_id = fractal3d_upload(s3_farm.farm, api_key, drawing.read_bytes(), drawing.name).json()[
        "file_id"
    ]

    refused = requests.post(
        f"{s3_farm.farm.base_url}/api/converts",
        json={"file_id": file_id, "file_name": drawing.name, "target_format": "e3dx"},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=30,
    )

    assert "use e2dx" in refused.text


def test_downloads_are_proxied_or_redirected_to_a_presigned_url(
    s3_farm: S3Farm, api_key: str
) -> None:
    api = s3_farm.farm.client(api_key)
    data = os.urandom(PART + 12345)
    stored = api.post("/v1/files", params={"name": "parts.bin"}, data=data).json()

    proxied = requests.get(stored["url"], timeout=30, allow_redirects=False)
    proxied_content = api.get(f"/v1/files/{stored['id']}/content", allow_redirects=False)
    s3_farm.restart_web(blob_downloads="presigned")
    try:
        link = requests.get(stored["url"], timeout=30, allow_redirects=False)
        followed = requests.get(stored["url"], timeout=30)
        content = api.get(f"/v1/files/{stored['id']}/content", allow_redirects=False)
        assert content.status_code == 302, content.text
        followed_content = requests.get(content.headers["Location"], timeout=30)
    finally:
        s3_farm.restart_web(blob_downloads="proxy")

    assert proxied.status_code == 200 and proxied.content == data
    assert proxied_content.status_code == 200 and proxied_content.content == data
    assert 'filename="parts.bin"' in proxied_content.headers["Content-Disposition"]
    assert link.status_code == 302
    assert link.headers["Location"].startswith(s3_farm.s3.endpoint_url + f"/{s3_farm.bucket}/")
    assert followed.status_code == 200 and followed.content == data
    assert content.status_code == 302
    assert followed_content.content == data
    assert 'filename="parts.bin"' in followed_content.headers["Content-Disposition"]


def test_purge_deletes_expired_uploads_and_outputs_from_the_bucket(
    s3_farm: S3Farm, api_key: str
) -> None:
    farm, api = s3_farm.farm, s3_farm.farm.client(api_key)
    upload = api.post("/v1/files", params={"name": "old.bin"}, data=b"old").json()
    done = api.wait_final(api.submit()["id"])
    output_url = done["outputs"][0]["url"]
    output_key = unquote(urlsplit(output_url).path).removeprefix(DOWNLOAD_PATH)
    assert s3_farm.names(output_key) == [f"blobs/{output_key}"]
    age_past_retention(farm, upload["id"], done["id"])

    purged = json.loads(farm.jobfarm("purge").stdout)

    assert purged["files"] >= 1 and purged["job_outputs"] >= 1
    assert purged["stale_uploads"] == 0  # every upload so far ended, committed or aborted
    assert not [n for n in s3_farm.names() if n.endswith(upload["id"])]
    assert s3_farm.names(output_key.rpartition("/")[0] + "/") == []
    assert requests.get(upload["url"], timeout=10).status_code == 404
    assert requests.get(output_url, timeout=10).status_code == 404


def test_an_upload_longer_than_announced_is_refused_and_leaves_nothing(
    s3_farm: S3Farm, api_key: str
) -> None:
    before = s3_farm.names("uploads/")

    refused = fractal3d_upload(
        s3_farm.farm, api_key, b"x" * (2 * PART), "long.stl", size=PART + MIB
    )

    assert refused.status_code == 400 and "more arrived" in refused.text
    assert s3_farm.names("uploads/") == before
    assert s3_farm.s3.uploads_in_progress(s3_farm.bucket) == []


def test_a_client_hanging_up_mid_upload_leaves_no_object_and_no_upload(
    s3_farm: S3Farm, api_key: str
) -> None:
    before = s3_farm.names("uploads/")
    sent = 3 * PART
    with socket.create_connection(("127.0.0.1", s3_farm.farm.port), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/files?name=cut.bin HTTP/1.1\r\nHost: farm\r\n"
            + f"Authorization: Bearer {api_key}\r\nContent-Length: {sent * 2}\r\n\r\n".encode()
        )
        for _ in range(sent // MIB):
            sock.sendall(b"c" * MIB)
        wait_until(
            lambda: s3_farm.s3.uploads_in_progress(s3_farm.bucket),
            30,
            "the multipart upload to begin",
        )

    wait_until(
        lambda: not s3_farm.s3.uploads_in_progress(s3_farm.bucket),
        30,
        "the multipart upload to be aborted",
    )
    assert s3_farm.names("uploads/") == before


def streamed_body(total: int, digest: Any) -> Iterator[bytes]:
    block = os.urandom(MIB)
    for start in range(0, total, MIB):
        chunk = block[: min(MIB, total - start)]
        digest.update(chunk)
        yield chunk


def test_a_large_upload_streams_into_the_bucket_in_bounded_api_memory(
    s3_farm: S3Farm, api_key: str
) -> None:
    farm, api = s3_farm.farm, s3_farm.farm.client(api_key)
    digest = hashlib.sha256()
    farm.reset_peak_memory("web")

    stored = api.post(
        "/v1/files",
        params={"name": "big.bin"},
        data=streamed_body(BIG_UPLOAD_BYTES, digest),
        timeout=1800,
    )

    peak_kib = farm.memory_kib("web", "VmHWM")
    assert stored.status_code == 201, stored.text
    body = stored.json()
    assert (body["size"], body["sha256"]) == (BIG_UPLOAD_BYTES, digest.hexdigest())
    assert s3_farm.s3.uploads_in_progress(s3_farm.bucket) == []
    assert any(name.endswith(body["id"]) for name in s3_farm.names("uploads/"))
    assert peak_kib < API_PEAK_RSS_LIMIT_KIB, f"API peak RSS {peak_kib} KiB"
    print(f"streamed {BIG_UPLOAD_BYTES} bytes; API peak RSS {peak_kib // 1024} MiB")
    assert s3_farm.local_blobs() == []
