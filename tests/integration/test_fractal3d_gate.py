"""The fractal3d door on the real farm: API keys and scoped AccessTokens, tenant
isolation, the error table's shapes, Redis token buckets, and the audit log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from config.settings import Settings
from tests.farm import Farm, wait_until
from tests.integration.test_fractal3d import Fractal3d

FIXTURES = Path(__file__).parents[1] / "fixtures" / "cad"
KEY_CACHE_TTL_S = Settings.model_fields["api_key_cache_ttl_s"].default


@pytest.fixture
def client(farm: Farm, tenant) -> Fractal3d:  # type: ignore[no-untyped-def]
    return Fractal3d(farm.base_url, tenant.creds.api_key)


def token_for(client: Fractal3d, *permissions: tuple[str, str]) -> Fractal3d:
    body = {"permissions": [{"resource": r, "operation": o} for r, o in permissions]}
    response = client.post("/users/access-token", body)
    assert response.status_code == 200, response.text
    return Fractal3d(client.base.removesuffix("/api"), response.json()["access_token"])


def test_no_or_a_wrong_credential_is_401(farm: Farm) -> None:
    for token in (None, "jf_nope_nope", "at_forged.signature"):
        response = Fractal3d(farm.base_url, token).get("/files", file_id="file_x")

        assert response.status_code == 401
        assert response.json()["type"] == "Unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_cabin_read_token_reads_files_and_nothing_else(client: Fractal3d) -> None:
    file_id = client.upload_ok(FIXTURES / "fuze.obj")
    reader = token_for(client, ("Cabin", "read"))

    assert reader.get("/files", file_id=file_id).status_code == 200
    refused_upload = reader.upload(b"solid x\nendsolid x\n", "x.stl")
    refused_convert = reader.post(
        "/converts", {"file_id": file_id, "file_name": "fuze.obj", "target_format": "e3dx"}
    )
    refused_poll = reader.get("/converts/result_file", transaction_id="job_x")
    refused_mint = reader.post(
        "/users/access-token", {"permissions": [{"resource": "cabin", "operation": "read"}]}
    )

    assert refused_upload.status_code == 403
    assert refused_upload.json() == {
        "message": "this AccessToken does not grant WriteFile",
        "type": "PermissionDenied",
    }
    assert refused_convert.status_code == 403
    assert refused_poll.status_code == 403
    assert refused_poll.json()["error"]["type"] == "PermissionDenied"
    assert refused_mint.status_code == 403


def test_a_turbine_token_requests_and_polls_conversions(client: Fractal3d) -> None:
    file_id = client.upload_ok(FIXTURES / "ballA.off")
    worker = token_for(client, ("turbine", "write"), ("turbine", "read"))

    transaction_id = worker.start(
        "/converts", {"file_id": file_id, "file_name": "ballA.off", "target_format": "e3dx"}
    )

    assert worker.wait_result("/converts", transaction_id)["status"] == "Succeeded"
    assert worker.get("/files", file_id=file_id).status_code == 403


def test_unknown_permissions_are_invalid_parameters(client: Fractal3d) -> None:
    response = client.post(
        "/users/access-token", {"permissions": [{"resource": "engine", "operation": "read"}]}
    )

    assert response.status_code == 400
    assert response.json()["type"] == "InvalidParameter"


def test_another_tenants_file_and_transaction_are_not_found(
    client: Fractal3d, make_tenant, farm: Farm
) -> None:  # type: ignore[no-untyped-def]
    file_id = client.upload_ok(FIXTURES / "fuze.obj")
    transaction_id = client.start(
        "/converts", {"file_id": file_id, "file_name": "fuze.obj", "target_format": "e3dx"}
    )
    other = Fractal3d(farm.base_url, make_tenant().creds.api_key)

    file_answer = other.get("/files", file_id=file_id)
    poll_answer = other.get("/converts/result_file", transaction_id=transaction_id)
    convert_answer = other.post(
        "/converts", {"file_id": file_id, "file_name": "fuze.obj", "target_format": "e3dx"}
    )

    assert (file_answer.status_code, file_answer.json()["message"]) == (404, "file not found")
    assert poll_answer.status_code == 404
    assert poll_answer.json()["error"]["message"] == "transaction not found"
    assert convert_answer.status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "wrapped"),
    [
        ("/converts", {"file_id": "f", "file_name": "a.stl", "target_format": "pdf"}, False),
        ("/converts", {"file_name": "a.stl", "target_format": "e3dx"}, False),
        ("/converts", {"url": "ftp://x/a.stl", "file_name": "a", "target_format": "e3dx"}, False),
        ("/thumbnail", {"file_id": "f", "file_name": "a.stl", "width": 0, "height": 10}, True),
        ("/thumbnail", {"file_id": "f", "file_name": "a.stl", "width": 64, "height": 2049}, True),
        ("/thumbnail", {"file_id": "f", "file_name": "a.stl", "width": "64", "height": 9}, True),
    ],
)
def test_invalid_bodies_are_400_in_the_endpoints_shape(
    client: Fractal3d,
    path: str,
    body: dict,
    wrapped: bool,  # type: ignore[type-arg]
) -> None:
    response = client.post(path, body)

    assert response.status_code == 400
    error = response.json()["error"] if wrapped else response.json()
    assert error["type"] == "InvalidParameter"
    assert error["message"]


def test_upload_parameters_are_checked(client: Fractal3d) -> None:
    data = (FIXTURES / "fuze.obj").read_bytes()
    too_big = client.upload(data, "a.obj", file_size=4 * 1024**3 + 1)
    lying = client.upload(data, "a.obj", file_size=len(data) - 1)
    bad_days = client.upload(data, "a.obj", file_retention_days=366)
    forever = client.upload(data, "a.obj", file_retention_days=-1)

    assert [r.status_code for r in (too_big, lying, bad_days)] == [400, 400, 400]
    assert {r.json()["type"] for r in (too_big, lying, bad_days)} == {"InvalidParameter"}
    assert forever.status_code == 200


def test_a_2d_drawing_asked_for_e3dx_or_a_thumbnail_is_not_supported(client: Fractal3d) -> None:
    drawing = next(p for p in sorted((FIXTURES / "2d").iterdir()) if p.suffix.lower() == ".dxf")
    file_id = client.upload_ok(drawing)

    as_3d = client.post(
        "/converts", {"file_id": file_id, "file_name": drawing.name, "target_format": "e3dx"}
    )
    thumbnail = client.post(
        "/thumbnail", {"file_id": file_id, "file_name": drawing.name, "width": 64, "height": 64}
    )

    assert (as_3d.status_code, as_3d.json()["type"]) == (403, "NotSupported")
    assert (thumbnail.status_code, thumbnail.json()["error"]["type"]) == (403, "NotSupported")


def test_rate_limit_headers_follow_the_callers_bucket(client: Fractal3d) -> None:
    by_key = client.get("/files", file_id="file_none")
    by_token = token_for(client, ("cabin", "read")).get("/files", file_id="file_none")

    assert by_key.headers["X-RateLimit-Limit"] == "20"
    assert by_token.headers["X-RateLimit-Limit"] == "50"
    assert 0 < int(by_key.headers["X-RateLimit-Remaining"]) < 200
    assert 0 < int(by_token.headers["X-RateLimit-Remaining"]) < 500
    assert int(by_key.headers["X-RateLimit-Reset"]) >= 1


@pytest.fixture
def anonymous_bucket(farm: Farm) -> Iterator[None]:
    """The anonymous bucket of this host, full at the start (earlier tests' anonymous
    calls may have drawn on it), emptied by the test and removed afterwards."""
    farm.redis().delete("jobfarm:ratelimit:ip:127.0.0.1")
    yield
    farm.redis().delete("jobfarm:ratelimit:ip:127.0.0.1")


def test_an_emptied_bucket_answers_429_too_many_requests(farm: Farm, anonymous_bucket) -> None:  # type: ignore[no-untyped-def]
    session = requests.Session()
    answers = []
    for _ in range(400):
        answers.append(
            session.get(f"{farm.base_url}/api/files", params={"file_id": "x"}, timeout=10)
        )
        if answers[-1].status_code == 429:
            break

    assert answers[0].status_code == 401
    assert answers[0].headers["X-RateLimit-Limit"] == "10"
    assert answers[0].headers["X-RateLimit-Remaining"] == "99"
    limited = answers[-1]
    assert limited.status_code == 429
    assert limited.json() == {"message": "too many requests", "type": "RequestRateLimited"}
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert 100 <= len(answers) < 400


def test_successful_calls_are_audited_and_failures_are_not(
    client: Fractal3d,
    farm: Farm,
    tenant,  # type: ignore[no-untyped-def]
) -> None:
    file_id = client.upload_ok(FIXTURES / "fuze.obj")
    assert client.get("/files", file_id=file_id).status_code == 200
    assert client.get("/files", file_id="file_missing").status_code == 404

    lines = farm.jobfarm("audit", "--tenant", tenant.creds.tenant_id).stdout.splitlines()
    events = [json.loads(line) for line in lines]

    calls = [
        (e["action"], e["object_id"]) for e in events if e["action"].startswith(("GET", "POST"))
    ]
    assert calls == [("POST /api/files", file_id), ("GET /api/files", file_id)]
    assert {e["actor"][:4] for e in events if e["action"].startswith(("GET", "POST"))} == {"key_"}


def test_revoking_a_key_stops_it_and_the_tokens_it_issued(farm: Farm, make_tenant) -> None:  # type: ignore[no-untyped-def]
    owner = make_tenant()
    client = Fractal3d(farm.base_url, owner.creds.api_key)
    reader = token_for(client, ("cabin", "read"))
    assert reader.get("/files", file_id="file_none").status_code == 404

    prefix = "_".join(owner.creds.api_key.split("_")[:2])
    assert farm.jobfarm("keys", "revoke", prefix).returncode == 0

    # Tokens are checked against their key on every call; the key itself may be
    # trusted from the API process's memory until its cache TTL has passed.
    assert reader.get("/files", file_id="file_none").status_code == 401
    wait_until(
        lambda: client.get("/files", file_id="file_none").status_code == 401,
        KEY_CACHE_TTL_S + 2,
        "the revoked key to be refused",
    )
