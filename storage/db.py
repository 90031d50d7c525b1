"""Engines and sessions: one engine per process and database URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000

_engines: dict[str, Engine] = {}
_sessionmakers: dict[str, sessionmaker[Session]] = {}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; several processes share the file.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # Take the write lock at BEGIN, so concurrent writers wait on busy_timeout instead
    # of one failing with "database is locked" when it upgrades a read lock.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        # Let SQLAlchemy, not the driver, issue BEGIN (the driver's legacy mode defers it).
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "connect", lambda conn, _rec: setattr(conn, "isolation_level", None))
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def get_engine(url: str) -> Engine:
    """The engine for `url`, created once per process."""
    if url not in _engines:
        _engines[url] = _create_engine(url)
    return _engines[url]


def get_sessionmaker(url: str) -> sessionmaker[Session]:
    if url not in _sessionmakers:
        _sessionmakers[url] = sessionmaker(get_engine(url), expire_on_commit=False)
    return _sessionmakers[url]


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = get_sessionmaker(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    """Forget pooled connections inherited across a fork, without closing the parent's."""
    for engine in _engines.values():
        engine.dispose(close=False)
