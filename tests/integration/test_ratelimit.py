"""The token bucket script on a real Redis, with the clock passed in."""

from __future__ import annotations

import uuid

import pytest
import redis

from api_stub.ratelimit import RateLimiter
from config.settings import RateLimit

LIMIT = RateLimit(burst=3, per_s=2)


@pytest.fixture
def limiter(redis_url: str) -> RateLimiter:
    return RateLimiter(redis.Redis.from_url(redis_url))


@pytest.fixture
def caller() -> str:
    return f"test:{uuid.uuid4().hex}"


def test_a_full_bucket_lets_burst_calls_through_then_refuses(limiter, caller) -> None:  # type: ignore[no-untyped-def]
    verdicts = [limiter.take(caller, LIMIT, now_ms=1_000) for _ in range(4)]

    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]


def test_tokens_come_back_at_the_refill_rate(limiter, caller) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        limiter.take(caller, LIMIT, now_ms=1_000)

    assert not limiter.take(caller, LIMIT, now_ms=1_400).allowed  # 0.8 tokens
    assert limiter.take(caller, LIMIT, now_ms=1_500).allowed  # 1.0 token
    assert not limiter.take(caller, LIMIT, now_ms=1_500).allowed


def test_a_long_pause_refills_only_up_to_the_burst(limiter, caller) -> None:  # type: ignore[no-untyped-def]
    limiter.take(caller, LIMIT, now_ms=1_000)

    verdict = limiter.take(caller, LIMIT, now_ms=100_000)

    assert verdict.remaining == 2
    assert verdict.reset_s == 1


def test_headers_say_rate_remaining_and_seconds_to_full(limiter, caller) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        verdict = limiter.take(caller, LIMIT, now_ms=1_000)

    assert verdict.headers() == {
        "X-RateLimit-Limit": "2",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "2",
    }


def test_buckets_of_different_callers_are_separate(limiter, caller) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        limiter.take(caller, LIMIT, now_ms=1_000)

    assert limiter.take(caller + ":other", LIMIT, now_ms=1_000).allowed


def test_an_unreachable_redis_lets_calls_through() -> None:
    limiter = RateLimiter(redis.Redis(port=1, socket_connect_timeout=0.2))

    assert limiter.take("anyone", LIMIT) is None
