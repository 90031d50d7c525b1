"""FastAPI dependencies as named aliases: settings, sessions, the calling tenant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from api_stub.problems import Problem
from config.settings import Settings, get_settings
from storage import tenants
from storage.db import get_sessionmaker, read_scope
from storage.tenants import Caller

SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    """A session per request, committed by the route (or rolled back on error)."""
    session = get_sessionmaker(settings.sql_url)()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def get_read_session(settings: SettingsDep) -> Iterator[Session]:
    """A read-only session per request: no locks held while the route works."""
    with read_scope(settings.sql_url) as session:
        yield session


ReadSessionDep = Annotated[Session, Depends(get_read_session)]

UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="jobfarm"'}


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def current_caller(
    session: ReadSessionDep, authorization: Annotated[str | None, Header()] = None
) -> Caller:
    """The tenant behind `Authorization: Bearer <api key>`, or 401."""
    token = bearer_token(authorization)
    if token is None:
        raise Problem(401, "missing bearer API key", "unauthorized", headers=UNAUTHORIZED_HEADERS)
    caller = tenants.authenticate(session, token)
    if caller is None:
        raise Problem(401, "invalid API key", "unauthorized", headers=UNAUTHORIZED_HEADERS)
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]


def request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


RequestIdDep = Annotated[str | None, Depends(request_id)]
