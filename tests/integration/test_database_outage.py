"""Faults inside the API, on the real app with real Redis: with the database unreachable
every dialect answers 503 in its own shape; an unexpected exception in a route answers
500 in its own shape; fractal3d's wrapped paths wrap their 429 too. Never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_stub import tokens
from api_stub.app import create_app
from api_stub.smartmanu.auth import TOKEN_PREFIX as SMARTMANU_TOKEN
from config.settings import DEV_SECRET, get_settings
from storage import jobs, tenants
from storage.db import session_scope
from storage.migrate import upgrade


def smartmanu_shape(response, status: int) -> bool:  # type: ignore[no-untyped-def]
    body = response.json()
    return bool(body["status"] == "error" and body["code"] == status)


def content_shape(response, status: int) -> bool:  # type: ignore[no-untyped-def]
    body = response.json()
    return set(body) == {"code", "message", "data"} and body["code"] == status


def native_shape(response, status: int) -> bool:  # type: ignore[no-untyped-def]
    return bool(
        response.headers["content-type"] == "application/problem+json"
        and response.json()["status"] == status
    )


def fractal3d_shape(response, status: int) -> bool:  # type: ignore[no-untyped-def]
    body = response.json()
    return set(body.get("error", body)) == {"message", "type"}


@pytest.fixture
def api_without_database(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> Iterator[TestClient]:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nowhere")
    monkeypatch.setenv("REDIS_URL", redis_url)
    get_settings.cache_clear()
    try:
        with TestClient(create_app(), raise_server_exceptions=False) as client:
            yield client
    finally:
        get_settings.cache_clear()


def test_fractal3d_answers_503_service_unavailable(api_without_database: TestClient) -> None:
    response = api_without_database.get(
        "/api/files", params={"file_id": "x"}, headers={"Authorization": "Bearer jf_a_b"}
    )

    assert response.status_code == 503
    assert response.json()["type"] == "ServiceUnavailable"
    assert response.headers["Retry-After"] == "5"


def test_native_answers_503_problem_json(api_without_database: TestClient) -> None:
    response = api_without_database.get("/v1/jobs", headers={"Authorization": "Bearer jf_a_b"})

    assert response.status_code == 503
    assert native_shape(response, 503)


def test_smartmanu_answers_503_in_its_body(api_without_database: TestClient) -> None:
    token, _ = tokens.issue(SMARTMANU_TOKEN, DEV_SECRET, "ten_x", "key_x", frozenset(), 600)

    response = api_without_database.get(
        "/v2/design/DSG-2026-0000000000000000", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 503
    assert smartmanu_shape(response, 503)


def test_content_answers_503_in_the_envelope(api_without_database: TestClient) -> None:
    response = api_without_database.get(
        "/api/v1/credit/balance", headers={"Authorization": "Bearer jf_a_b"}
    )

    assert response.status_code == 503
    assert content_shape(response, 503)


@pytest.fixture
def api_on_sqlite(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, tmp_path: Path
) -> Iterator[tuple[TestClient, str]]:
    """The app on a database of its own, a key for it, and one-token API-key buckets."""
    monkeypatch.setenv("JOBFARM_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("JOBFARM_RATE_LIMIT_API_KEY", '{"burst": 1, "per_s": 0.01}')
    get_settings.cache_clear()
    url = get_settings().sql_url
    upgrade(url)
    with session_scope(url) as session:
        key = tenants.create_key(session, "faulty").api_key
    try:
        with TestClient(create_app(), raise_server_exceptions=False) as client:
            yield client, key
    finally:
        get_settings.cache_clear()


def test_an_unexpected_error_answers_500_in_each_dialects_shape(
    api_on_sqlite: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, key = api_on_sqlite
    head, _, secret = key.rpartition("_")
    smartmanu = client.post("/auth/token", json={"api_key": head, "secret": secret}).json()

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("injected")

    monkeypatch.setattr(jobs, "get_job", broken)
    as_key = {"Authorization": f"Bearer {key}"}
    cases = [
        ("/v1/jobs/job_x", as_key, native_shape),
        ("/api/v1/video/job_x/status", as_key, content_shape),
        ("/api/converts/result_file?transaction_id=job_x", as_key, fractal3d_shape),
        ("/v2/design/DSG-x", {"Authorization": f"Bearer {smartmanu['token']}"}, smartmanu_shape),
    ]
    for path, headers, shape in cases:
        response = client.get(path, headers=headers)

        assert response.status_code == 500, path
        assert shape(response, 500), response.text
        assert "injected" not in response.text


def test_fractal3d_wraps_its_429_on_result_file(api_on_sqlite: tuple[TestClient, str]) -> None:
    client, key = api_on_sqlite
    headers = {"Authorization": f"Bearer {key}"}
    path = "/api/thumbnail/result_file"

    first = client.get(path, params={"transaction_id": "nothing"}, headers=headers)
    second = client.get(path, params={"transaction_id": "nothing"}, headers=headers)

    assert first.status_code == 404 and "error" in first.json()
    assert second.status_code == 429
    assert second.json() == {
        "error": {"message": "too many requests", "type": "RequestRateLimited"}
    }
    assert int(second.headers["Retry-After"]) >= 1
    assert second.headers["X-RateLimit-Remaining"] == "0"
