"""API keys verified lately are trusted from memory for the cache TTL, then asked again."""

from __future__ import annotations

from typing import Any

import pytest

from api_stub import callers
from api_stub.callers import Principal, VerifiedKeys, by_api_key
from config.settings import Settings
from storage.tenants import Caller

KEY = "jf_abc123_secret"
CALLER = Caller(tenant_id="ten_1", key_id="key_1")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Keys:
    """`tenants.authenticate` over a table of live keys, counting how often SQL is asked."""

    def __init__(self) -> None:
        self.live = {KEY: CALLER}
        self.asked = 0

    def authenticate(self, _session: Any, presented: str) -> Caller | None:
        self.asked += 1
        return self.live.get(presented)


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> Keys:
    table = Keys()
    monkeypatch.setattr(callers.tenants, "authenticate", table.authenticate)
    return table


def with_ttl(monkeypatch: pytest.MonkeyPatch, ttl_s: float) -> None:
    settings = Settings(api_key_cache_ttl_s=ttl_s)
    monkeypatch.setattr(callers, "get_settings", lambda: settings)


def principal(n: int) -> Principal:
    return Principal(f"ten_{n}", f"key_{n}", f"key_{n}", "api_key")


def test_a_verified_key_is_answered_from_memory_within_the_ttl(
    keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_ttl(monkeypatch, 5)
    clock = Clock()
    verified = VerifiedKeys(clock=clock)

    first = by_api_key(None, KEY, verified)  # type: ignore[arg-type]
    clock.now += 4.9
    again = by_api_key(None, KEY, verified)  # type: ignore[arg-type]

    assert first == again == Principal("ten_1", "key_1", "key_1", "api_key")
    assert keys.asked == 1


def test_a_key_revoked_in_sql_is_refused_once_its_ttl_has_passed(
    keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_ttl(monkeypatch, 5)
    clock = Clock()
    verified = VerifiedKeys(clock=clock)
    assert by_api_key(None, KEY, verified) is not None  # type: ignore[arg-type]

    del keys.live[KEY]
    clock.now += 5

    assert by_api_key(None, KEY, verified) is None  # type: ignore[arg-type]
    assert keys.asked == 2


def test_unknown_keys_are_never_remembered(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    with_ttl(monkeypatch, 5)
    verified = VerifiedKeys(clock=Clock())

    for _ in range(3):
        assert by_api_key(None, "jf_guess_wrong", verified) is None  # type: ignore[arg-type]

    assert keys.asked == 3
    assert len(verified) == 0


def test_a_ttl_of_zero_asks_sql_every_time(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    with_ttl(monkeypatch, 0)
    verified = VerifiedKeys(clock=Clock())

    for _ in range(3):
        assert by_api_key(None, KEY, verified) is not None  # type: ignore[arg-type]

    assert keys.asked == 3
    assert len(verified) == 0


def test_past_its_bound_the_oldest_verification_is_dropped() -> None:
    verified = VerifiedKeys(max_entries=2, clock=Clock())
    for n in range(3):
        verified.put(bytes([n]), principal(n), ttl_s=5)

    assert [verified.get(bytes([n])) for n in range(3)] == [None, principal(1), principal(2)]
    assert len(verified) == 2


def test_verifying_a_key_again_renews_its_ttl() -> None:
    clock = Clock()
    verified = VerifiedKeys(clock=clock)
    verified.put(b"k", principal(1), ttl_s=5)
    clock.now += 4
    verified.put(b"k", principal(1), ttl_s=5)
    clock.now += 4

    assert verified.get(b"k") == principal(1)
