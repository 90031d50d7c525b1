"""The content dialect's pure parts: status words, error codes, the envelope."""

from __future__ import annotations

import pytest

from api_stub.content.envelope import ContentError, ok
from api_stub.content.generation import STATUS, failure
from storage.states import JobState
from tests.factories import job_view


@pytest.mark.parametrize(
    ("state", "word"),
    [
        (JobState.QUEUED, "processing"),
        (JobState.RUNNING, "processing"),
        (JobState.SUCCEEDED, "completed"),
        (JobState.FAILED, "failed"),
        (JobState.CANCELED, "failed"),
    ],
)
def test_job_states_read_as_the_seeds_status_words(state: JobState, word: str) -> None:
    assert STATUS[state] == word


@pytest.mark.parametrize(
    ("error_code", "code"),
    [("model_unavailable", 40006), ("invalid_input", 40007), ("internal_error", 40007)],
)
def test_a_failed_generation_carries_the_seeds_code(error_code: str, code: int) -> None:
    job = job_view(state=JobState.FAILED, error_code=error_code, error_message="why")

    assert failure(job) == {"error": {"code": code, "message": "why"}}


def test_a_job_that_did_not_fail_has_no_error() -> None:
    assert failure(job_view(state=JobState.SUCCEEDED)) == {}


@pytest.mark.parametrize(("code", "status"), [(401, 401), (404, 404), (40001, 400), (40006, 400)])
def test_errors_travel_in_the_envelope_with_a_fitting_status(code: int, status: int) -> None:
    response = ContentError(code, "message").response()

    assert response.status_code == status
    assert response.body == f'{{"code":{code},"message":"message","data":null}}'.encode()


def test_success_is_code_200_with_the_data() -> None:
    assert ok({"a": 1}, "生成成功") == {"code": 200, "message": "生成成功", "data": {"a": 1}}
