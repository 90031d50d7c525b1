"""The smartmanu dialect's pure parts: ids, token halves, error bodies, callback shapes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from api_stub import tokens
from api_stub.shapes import shapes_for
from api_stub.smartmanu.auth import TOKEN_PREFIX, key_and_secret
from api_stub.smartmanu.errors import SmartmanuError
from api_stub.smartmanu.intake import new_public_id
from storage.batches import BatchView
from storage.jobs import JobView
from storage.states import JobState
from tests.factories import job_view


def test_public_ids_have_the_seeds_shape_and_do_not_repeat() -> None:
    ids = {new_public_id("DSG") for _ in range(1000)}

    assert len(ids) == 1000
    assert all(re.fullmatch(r"DSG-\d{4}-[0-9A-F]{16}", i) for i in ids)


@pytest.mark.parametrize(
    ("api_key", "secret", "key"),
    [("jf_abc", "s3cret", "jf_abc_s3cret"), ("jf_abc_s3cret", "", "jf_abc_s3cret")],
)
def test_api_key_and_secret_make_the_farms_key(api_key: str, secret: str, key: str) -> None:
    assert key_and_secret(api_key, secret) == key


def test_a_fractal3d_token_is_not_a_smartmanu_token() -> None:
    other, _ = tokens.issue("at_", "secret", "ten_1", "key_1", frozenset(), 60)
    renamed = TOKEN_PREFIX + other.removeprefix("at_")

    assert tokens.verify(TOKEN_PREFIX, "secret", renamed) is None


def test_error_body_carries_the_seeds_code() -> None:
    error = SmartmanuError(422, "infeasible", code=5003, data={"reasons": ["r"]})

    response = error.response()

    assert response.status_code == 422
    assert response.body == (
        b'{"status":"error","code":5003,"message":"infeasible","data":{"reasons":["r"]}}'
    )


def task(state: JobState, **overrides: object) -> JobView:
    return job_view(
        **{
            "id": "DSG-2026-00000000000000AA",
            "kind": "design",
            "queue": "design",
            "state": state,
            "batch_id": "BAT-2026-00000000000000BB",
            "dialect": "smartmanu",
            "client_ref": "7",
            "result": {
                "production_ready": True,
                "materials": [{"type": "fabric", "code": "FB-025", "consumption": "1.2m"}],
                "warnings": [],
            },
            "outputs": [
                {"name": "preview.png", "size": 1, "sha256": "x", "blob_key": "jobs/t/preview.png"},
                {"name": "print.png", "size": 1, "sha256": "x", "blob_key": "jobs/t/print.png"},
            ],
            **overrides,
        }
    )


def link(key: str) -> str:
    return f"https://dl/{key}"


def webhook_body(job: JobView) -> dict[str, Any]:
    return shapes_for(job.dialect).job_event(job, link)


def test_a_succeeded_task_posts_its_design() -> None:
    body = webhook_body(task(JobState.SUCCEEDED))

    assert (body["event"], body["batch_id"], body["task_id"]) == (
        "task.succeeded",
        "BAT-2026-00000000000000BB",
        "7",
    )
    assert body["status"] == "success"
    assert body["data"]["preview_url"] == "https://dl/jobs/t/preview.png"
    assert body["data"]["print_url"] == "https://dl/jobs/t/print.png"
    assert body["data"]["materials"][0]["code"] == "FB-025"


def test_an_infeasible_task_posts_5003_with_its_reasons() -> None:
    failed = task(
        JobState.FAILED,
        outputs=[],
        result={"reasons": ["9 spot colours; screen printing takes at most 6"]},
        error_code="infeasible_design",
        error_message="9 spot colours; screen printing takes at most 6",
    )

    body = webhook_body(failed)

    assert (body["status"], body["code"]) == ("error", 5003)
    assert body["data"]["reasons"] == ["9 spot colours; screen printing takes at most 6"]


@pytest.mark.parametrize(
    ("code", "expected"), [("invalid_input", 400), ("internal_error", 500), ("worker_lost", 500)]
)
def test_other_failures_post_the_tables_codes(code: str, expected: int) -> None:
    body = webhook_body(task(JobState.FAILED, outputs=[], error_code=code, result=None))

    assert body["code"] == expected


def test_a_completed_batch_posts_its_counts() -> None:
    batch = BatchView(
        id="BAT-1",
        tenant_id="ten_1",
        dialect="smartmanu",
        callback_url="https://example.com/hook",
        total=10,
        finished=10,
        succeeded=8,
        created_at=datetime(2026, 1, 1),
        completed_at=datetime(2026, 1, 1),
    )

    body = shapes_for(batch.dialect).batch_event(batch)

    assert {k: body[k] for k in ("event", "batch_id", "total", "succeeded", "failed")} == {
        "event": "batch.completed",
        "batch_id": "BAT-1",
        "total": 10,
        "succeeded": 8,
        "failed": 2,
    }
