"""With the database unreachable, both dialects answer 503 in their own shape, never 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api_stub.app import create_app
from config.settings import get_settings


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
    assert response.headers["content-type"] == "application/problem+json"
