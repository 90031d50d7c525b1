"""FastAPI dependencies as named aliases: settings, sessions, the caller, the request id.

Sessions check out a connection only when first used and give it back at commit,
so a route that reads its body or waits for a job holds none meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api_stub.callers import Principal
from api_stub.errors import Unauthenticated
from config.settings import Settings, get_settings
from storage.db import get_sessionmaker, read_scope

SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    """A session per request, committed by the route (or rolled back on error)."""
    session = get_sessionmaker(settings.sql_url)()
    try:
        yield session
    finally:
        session.close()


# scope="function": closed when the route returns, before the response is sent, so a
# slow receiver of a download never holds a connection.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_read_session(settings: SettingsDep) -> Iterator[Session]:
    """A read-only session per request: no locks held while the route works."""
    with read_scope(settings.sql_url) as session:
        yield session


ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]


def current_caller(request: Request) -> Principal:
    """The caller the gate identified; 401 in the dialect's shape if there is none."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise Unauthenticated()
    return principal


CallerDep = Annotated[Principal, Depends(current_caller)]


def request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


RequestIdDep = Annotated[str | None, Depends(request_id)]
