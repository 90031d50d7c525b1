"""The content platform's accounts (seed 003): register, log in, refresh, and who am I.

A registered user gets a tenant of their own (`storage.content_users`) and starts
with 0 credits; an operator adds credits (`jobfarm credits add`) and membership
(`jobfarm members set`). Login answers an access token (2 h) and a refresh token
(7 d); `/auth/refresh` takes the refresh token as `Authorization: Bearer`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api_stub import callers
from api_stub.content import user_tokens
from api_stub.content.envelope import ContentError, ok, seed_time
from api_stub.content.passwords import hash_password, password_matches
from api_stub.content.users import UserPrincipal
from api_stub.deps import CallerDep, ReadSessionDep, SessionDep, SettingsDep
from config.settings import Settings
from storage import content_users, credits
from storage.content_users import UserTaken, UserView

router = APIRouter(prefix="/api/v1/auth", tags=["content accounts"])

USERNAME = r"^[A-Za-z0-9_.\-\u4e00-\u9fff]+$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class RegisterRequest(BaseModel):
    username: str = Field(min_length=3, max_length=50, pattern=USERNAME)
    email: str = Field(min_length=3, max_length=254, pattern=EMAIL)
    password: str = Field(min_length=6, max_length=128)


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=50)
    password: str = Field(min_length=1, max_length=128)


def profile(session: Session, user: UserView) -> dict[str, Any]:
    """The user as `/auth/me` shows them, with the tenant's balance."""
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "credit_balance": credits.balance(session, user.tenant_id),
        "is_member": user.is_member(),
        "membership_type": user.membership_type if user.is_member() else None,
        "membership_end_date": seed_time(user.membership_end_date) if user.is_member() else None,
        "referral_code": user.referral_code,
    }


def tokens_for(settings: Settings, user: UserView) -> dict[str, str]:
    secret = settings.content_jwt_secret
    return {
        "access_token": user_tokens.issue(
            secret, user.id, user.tenant_id, "access", settings.content_access_token_ttl_s
        ),
        "refresh_token": user_tokens.issue(
            secret, user.id, user.tenant_id, "refresh", settings.content_refresh_token_ttl_s
        ),
        "token_type": "bearer",
    }


@router.post("/register")
def register(body: RegisterRequest, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """A new user with 0 credits; 403 while registration is closed."""
    if not settings.content_registration_open:
        raise ContentError(403, "无权限: registration is closed")
    try:
        user = content_users.register(
            session, body.username, body.email, hash_password(body.password)
        )
    except UserTaken:
        raise ContentError(400, "请求参数错误: username or email already registered") from None
    session.commit()
    data = profile(session, user)
    keep = ("id", "username", "email", "credit_balance", "is_member", "referral_code")
    return ok({k: data[k] for k in keep}, "注册成功")


@router.post("/login")
def login(body: LoginRequest, session: ReadSessionDep, settings: SettingsDep) -> dict[str, Any]:
    """Both tokens and the user; 401 for an unknown user or a wrong password alike."""
    user = content_users.by_username(session, body.username)
    if not password_matches(user.password_hash if user else None, body.password):
        raise ContentError(401, "未认证: wrong username or password")
    assert user is not None
    data = profile(session, user)
    keep = ("id", "username", "email", "credit_balance", "is_member", "membership_type")
    return ok(tokens_for(settings, user) | {"user": {k: data[k] for k in keep}}, "登录成功")


@router.post("/refresh")
def refresh(
    session: ReadSessionDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """A new access token for a valid refresh token of an active user; else 401."""
    presented = callers.bearer_token(authorization) or ""
    claims = user_tokens.verify(settings.content_jwt_secret, presented, "refresh")
    user = claims and content_users.of_tenant(session, claims.tenant_id, claims.user_id)
    if not user:
        raise ContentError(401, "未认证: refresh token invalid or expired")
    access = user_tokens.issue(
        settings.content_jwt_secret,
        user.id,
        user.tenant_id,
        "access",
        settings.content_access_token_ttl_s,
    )
    return ok({"access_token": access, "token_type": "bearer"}, "Token刷新成功")


@router.get("/me")
def me(caller: CallerDep, session: ReadSessionDep) -> dict[str, Any]:
    """The calling user; 403 for a farm API key, which is no user."""
    if not isinstance(caller, UserPrincipal):
        raise ContentError(403, "无权限: /auth/me answers for a user's access token")
    user = content_users.of_tenant(session, caller.tenant_id, caller.user_id)
    if user is None:
        raise ContentError(401, "未认证")
    return ok(profile(session, user))
