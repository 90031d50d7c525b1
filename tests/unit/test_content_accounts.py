"""The content platform's accounts, their pure parts: JWTs, password hashes, the seed's
timestamps, the registration switch and members' generation limit."""

from __future__ import annotations

from datetime import datetime

import pytest

from api_stub.content import user_tokens
from api_stub.content.dialect import DIALECT
from api_stub.content.envelope import seed_time
from api_stub.content.passwords import hash_password, password_matches
from api_stub.content.users import UserPrincipal
from api_stub.dialect import Call
from config.settings import Settings

SECRET = "a-test-secret-of-thirty-two-bytes!!"


def test_an_access_token_verifies_as_access_and_not_as_refresh() -> None:
    token = user_tokens.issue(SECRET, 7, "ten_x", "access", 60)

    claims = user_tokens.verify(SECRET, token, "access")

    assert claims is not None and (claims.user_id, claims.tenant_id) == (7, "ten_x")
    assert user_tokens.verify(SECRET, token, "refresh") is None


@pytest.mark.parametrize(
    ("secret", "ttl_s"), [(SECRET, -1), ("another-secret-of-thirty-two-bytes!", 60)]
)
def test_an_expired_or_foreign_token_does_not_verify(secret: str, ttl_s: int) -> None:
    token = user_tokens.issue(secret, 7, "ten_x", "access", ttl_s)

    assert user_tokens.verify(SECRET, token, "access") is None


def test_a_password_matches_its_hash_only() -> None:
    stored = hash_password("password123")

    assert password_matches(stored, "password123")
    assert not password_matches(stored, "password124")
    assert not password_matches(None, "password123")


def test_timestamps_are_in_beijing_time_without_an_offset() -> None:
    assert seed_time(datetime(2026, 1, 22, 2, 0, 0, 123000)) == "2026-01-22T10:00:00"


@pytest.mark.parametrize(
    ("profile", "setting", "open_"),
    [("dev", None, True), ("dev", False, False), ("prod", None, False), ("prod", True, True)],
)
def test_registration_is_off_in_prod_unless_turned_on(
    profile: str, setting: bool | None, open_: bool
) -> None:
    secret = "x" * 32
    settings = Settings(
        profile=profile,  # type: ignore[arg-type]
        content_registration=setting,
        url_signing_secret=secret,
        access_token_secret=secret,
        model_key_secret=secret,
        content_jwt_secret=secret,
        flower_password=secret,
    )

    assert settings.content_registration_open is open_


def test_prod_refuses_the_placeholder_jwt_secret() -> None:
    secret = "x" * 32
    with pytest.raises(ValueError, match="JOBFARM_CONTENT_JWT_SECRET"):
        Settings(
            profile="prod",
            url_signing_secret=secret,
            access_token_secret=secret,
            model_key_secret=secret,
            flower_password=secret,
        )


def user(member: bool) -> UserPrincipal:
    return UserPrincipal("ten_x", "user:1", "user:1", "token", user_id=1, is_member=member)


@pytest.mark.parametrize(("member", "buckets"), [(True, 0), (False, 1)])
def test_members_generate_without_a_rate_limit(member: bool, buckets: int) -> None:
    call = Call("POST", "/api/v1/writing/wechat_article/generate", "127.0.0.1", {})

    assert len(DIALECT.rate_limits(user(member), call, Settings())) == buckets


def test_members_queries_still_count() -> None:
    call = Call("GET", "/api/v1/auth/me", "127.0.0.1", {})

    assert len(DIALECT.rate_limits(user(True), call, Settings())) == 1
