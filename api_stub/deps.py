"""FastAPI dependencies as named aliases: settings, sessions, the caller, the request id.

Sessions check out a connection only when first used and give it back at commit,
so a route that reads its body or waits for a job holds none meanwhile.

Every dependency here is `async`: FastAPI runs a plain `def` dependency in a worker
thread, and each such hop costs more CPU than the dependency's own work. What could
block (closing a session that still holds a connection) is sent to a thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api_stub.callers import Principal
from api_stub.errors import Unauthenticated
from config.settings import Settings, get_settings
from storage.db import get_sessionmaker


async def current_settings() -> Settings:
    return get_settings()


SettingsDep = Annotated[Settings, Depends(current_settings)]


async def get_session(settings: SettingsDep) -> AsyncIterator[Session]:
    """A session per request, committed by the route (or rolled back on error)."""
    session = get_sessionmaker(settings.sql_url)()
    try:
        yield session
    finally:
        await close(session)


# scope="function": closed when the route returns, before the response is sent, so a
# slow receiver of a download never holds a connection.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_read_session(settings: SettingsDep) -> AsyncIterator[Session]:
    """A read-only session per request: no locks held while the route works."""
    session = get_sessionmaker(settings.sql_url, readonly=True)()
    try:
        yield session
    finally:
        await close(session)


ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]


async def close(session: Session) -> None:
    """Close `session`, rolling back what it left open: in a thread while it is in a
    transaction (ending one may talk to the database), inline otherwise (a route that
    committed left nothing to end, and a thread hop would cost more than the close)."""
    if session.in_transaction():
        await run_in_threadpool(session.close)
    else:
        session.close()


async def current_caller(request: Request) -> Principal:
    """The caller the gate identified; 401 in the dialect's shape if there is none."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise Unauthenticated()
    return principal


CallerDep = Annotated[Principal, Depends(current_caller)]


async def request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


RequestIdDep = Annotated[str | None, Depends(request_id)]
