"""The fractal3d dialect's pure parts: scopes, AccessTokens, error shapes, buckets,
status words and webhook bodies."""

from __future__ import annotations

from typing import Any

import pytest

from api_stub import tokens
from api_stub.callers import Principal
from api_stub.fractal3d.auth import TOKEN_PREFIX, bucket_for
from api_stub.fractal3d.errors import ErrorType, error_body
from api_stub.fractal3d.scopes import ALL_SCOPES, Scope, UnknownPermission, scope_for
from api_stub.shapes import shapes_for
from config.settings import Settings
from storage.jobs import JobView
from storage.states import JobState
from tests.factories import job_view

SECRET = "a-secret-for-tests"


@pytest.mark.parametrize(
    ("resource", "operation", "scope"),
    [
        ("Cabin", "Read", Scope.READ_FILE),
        ("cabin", "write", Scope.WRITE_FILE),
        ("Turbine", "read", Scope.READ_TRANSACTION),
        ("turbine", "WRITE", Scope.WRITE_TRANSACTION),
        ("Hub", "read", Scope.READ_USER),
        ("hub", "write", Scope.WRITE_USER),
        ("Signalman", "read", Scope.READ_CHATROOM),
        ("signalman", "write", Scope.WRITE_CHATROOM),
    ],
)
def test_resource_groups_and_operations_grant_the_seeds_scopes(
    resource: str, operation: str, scope: Scope
) -> None:
    assert scope_for(resource, operation) is scope


@pytest.mark.parametrize(("resource", "operation"), [("engine", "read"), ("cabin", "delete")])
def test_unknown_permissions_are_refused(resource: str, operation: str) -> None:
    with pytest.raises(UnknownPermission):
        scope_for(resource, operation)


def issued(scopes: frozenset[Scope] = frozenset({Scope.READ_FILE}), ttl_s: int = 60) -> str:
    token, _ = tokens.issue(TOKEN_PREFIX, SECRET, "ten_1", "key_1", scopes, ttl_s, now=1_000)
    return token


def test_a_token_carries_its_tenant_key_and_scopes() -> None:
    granted = tokens.verify(TOKEN_PREFIX, SECRET, issued(), now=1_030)

    assert granted is not None
    assert (granted.tenant_id, granted.key_id) == ("ten_1", "key_1")
    assert granted.scopes == {Scope.READ_FILE}
    assert granted.expires_at == 1_060


def test_an_expired_token_is_refused() -> None:
    assert tokens.verify(TOKEN_PREFIX, SECRET, issued(ttl_s=60), now=1_060) is None


def test_a_token_signed_with_another_secret_is_refused() -> None:
    assert tokens.verify(TOKEN_PREFIX, "another-secret", issued(), now=1_000) is None


def test_a_token_with_widened_scopes_is_refused() -> None:
    other, _ = tokens.issue(TOKEN_PREFIX, SECRET, "ten_1", "key_1", ALL_SCOPES, 60, now=1_000)
    payload_with_all = other.split(".")[0]
    forged = payload_with_all + "." + issued().split(".")[1]

    assert tokens.verify(TOKEN_PREFIX, SECRET, forged, now=1_000) is None


@pytest.mark.parametrize("garbage", ["", "at_", "at_x.y", "jf_abc_def", "at_" + "A" * 40 + ".x"])
def test_malformed_tokens_are_refused(garbage: str) -> None:
    assert tokens.verify(TOKEN_PREFIX, SECRET, garbage, now=1_000) is None


@pytest.mark.parametrize(
    ("path", "wrapped"),
    [
        ("/files", False),
        ("/converts", False),
        ("/users/access-token", False),
        ("/thumbnail", True),
        ("/converts/result_file", True),
        ("/thumbnail/result_file", True),
    ],
)
def test_error_bodies_are_flat_or_wrapped_as_the_seed_shows(path: str, wrapped: bool) -> None:
    body = error_body(path, ErrorType.NOT_FOUND, "file not found")

    inner = {"message": "file not found", "type": "NotFound"}
    assert body == ({"error": inner} if wrapped else inner)


def principal(via: str) -> Principal:
    if via == "token":
        return Principal("ten_1", "key_1", "token:abc", "token", ALL_SCOPES)
    return Principal("ten_1", "key_1", "key_1", "api_key")


@pytest.mark.parametrize(
    ("who", "bucket", "burst", "per_s"),
    [
        (None, "ip:10.0.0.7", 100, 10),
        ("token", "token:abc", 500, 50),
        ("api_key", "key:key_1", 200, 20),
    ],
)
def test_each_kind_of_caller_has_the_seeds_bucket(
    who: str | None, bucket: str, burst: int, per_s: float
) -> None:
    caller, limit = bucket_for(principal(who) if who else None, "10.0.0.7", Settings())

    assert caller == bucket
    assert (limit.burst, limit.per_s) == (burst, per_s)


def job(state: JobState, **overrides: object) -> JobView:
    return job_view(
        **{
            "kind": "convert",
            "state": state,
            "dialect": "fractal3d",
            "outputs": [{"name": "a.glb", "size": 3, "sha256": "x", "blob_key": "jobs/t/a.glb"}],
            **overrides,
        }
    )


def link(key: str) -> str:
    return f"https://dl/{key}"


def webhook_body(job: JobView) -> dict[str, Any]:
    return shapes_for(job.dialect).job_event(job, link)


def test_a_succeeded_fractal3d_job_posts_its_result_url() -> None:
    body = webhook_body(job(JobState.SUCCEEDED))

    assert body == {
        "transaction_id": "job_1",
        "status": "Succeeded",
        "url": "https://dl/jobs/t/a.glb",
    }


@pytest.mark.parametrize("state", [JobState.FAILED, JobState.CANCELED])
def test_a_failed_fractal3d_job_posts_failed_with_the_reason(state: JobState) -> None:
    body = webhook_body(job(state, outputs=[], error_message="the file is empty"))

    assert body == {
        "transaction_id": "job_1",
        "status": "Failed",
        "url": None,
        "message": "the file is empty",
    }


def test_native_jobs_keep_the_native_envelope() -> None:
    body = webhook_body(job(JobState.SUCCEEDED, dialect="native"))

    assert body["type"] == "job.succeeded"
    assert body["data"]["id"] == "job_1"
