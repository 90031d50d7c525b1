"""The front door's pure decisions: which dialect owns a path, which limits a call draws
on, the Retry-After rule, the per-tenant caps, and how bodies are read."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from api_stub.admission import Admission
from api_stub.content.dialect import rate_class
from api_stub.dialect import BodyPolicy, Call
from api_stub.errors import PayloadTooLarge, RequestTimeout
from api_stub.front_door import FrontDoor, discover
from api_stub.gate import read_whole, watched
from api_stub.ratelimit import Verdict
from config.settings import RateLimit


@pytest.fixture(scope="module")
def front_door() -> FrontDoor:
    return FrontDoor(discover())


@pytest.mark.parametrize(
    ("path", "dialect"),
    [
        ("/v1/jobs", "native"),
        ("/healthz", "native"),
        ("/", "native"),
        ("/apix", "native"),
        ("/api", "fractal3d"),
        ("/api/converts", "fractal3d"),
        ("/api/v2/ai/jobs/", "agent"),
        ("/api/v2/ai", "agent"),
        ("/api/v2/aix", "fractal3d"),
        ("/api/v1", "content"),
        ("/api/v1/auth/login", "content"),
        ("/api/v1/health", "procure"),
        ("/api/v1/healthz", "content"),
        ("/auth/token", "smartmanu"),
        ("/v2/design/generate", "smartmanu"),
        ("/ws/progress", "smartmanu"),
    ],
)
def test_the_longest_owning_prefix_takes_the_path(
    front_door: FrontDoor, path: str, dialect: str
) -> None:
    assert front_door.dialect_for(path)[0].name == dialect


def test_every_dialect_package_is_found() -> None:
    assert {d.name for d in discover()} >= {"native", "fractal3d", "smartmanu", "content"}


def call(method: str, path: str) -> Call:
    return Call(method=method, path=path, client_ip="10.0.0.1", headers={})


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/api/v1/auth/login", "auth"),
        ("POST", "/api/v1/video/generate", "generation"),
        ("POST", "/api/v1/ppt/generate", "generation"),
        ("GET", "/api/v1/video/x/status", "query"),
        ("GET", "/api/v1/credit/balance", "query"),
        ("POST", "/api/v1/models", "other"),
        ("DELETE", "/api/v1/models/3", "other"),
    ],
)
def test_content_calls_fall_in_the_seeds_rate_classes(
    method: str, path: str, expected: str
) -> None:
    assert rate_class(call(method, path)) == expected


@pytest.mark.parametrize(
    ("tokens", "per_s", "retry_after_s"),
    [(0.0, 10, 1), (0.0, 1 / 60, 60), (0.5, 1 / 60, 30), (0.99, 20 / 3600, 2)],
)
def test_retry_after_is_the_wait_for_one_token(
    tokens: float, per_s: float, retry_after_s: int
) -> None:
    verdict = Verdict(allowed=False, limit=RateLimit(burst=10, per_s=per_s), tokens=tokens)

    assert verdict.retry_after_s == retry_after_s


def test_a_tenant_past_its_cap_is_refused_and_others_are_not() -> None:
    admission = Admission()

    assert [admission.enter("a", "upload", 2) for _ in range(3)] == [True, True, False]
    assert admission.enter("b", "upload", 2)
    admission.leave("a", "upload")
    assert admission.enter("a", "upload", 2)
    assert admission.held("a", "upload") == 2


def messages(*chunks: bytes) -> Any:
    queue = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    return receive


def test_a_buffered_body_is_read_whole_within_its_cap() -> None:
    policy = BodyPolicy(max_bytes=10)

    assert asyncio.run(read_whole(messages(b"abc", b"def"), policy)) == b"abcdef"
    with pytest.raises(PayloadTooLarge):
        asyncio.run(read_whole(messages(b"abcdef", b"ghijk"), policy))


def test_a_buffered_body_that_stalls_fails_at_its_deadline() -> None:
    async def never() -> dict[str, Any]:
        await asyncio.Event().wait()
        return {}

    with pytest.raises(RequestTimeout):
        asyncio.run(read_whole(never, BodyPolicy(max_bytes=10, deadline_s=0.05)))


def test_a_streamed_body_past_its_cap_fails_as_it_arrives() -> None:
    receive = watched(messages(b"x" * 6, b"x" * 6), BodyPolicy(max_bytes=10, streamed=True))

    async def drain() -> None:
        await receive()
        await receive()

    with pytest.raises(PayloadTooLarge):
        asyncio.run(drain())
