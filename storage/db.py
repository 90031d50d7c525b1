"""Engines and sessions: one engine per process and database URL.

On SQLite, a writing session takes the write lock at BEGIN (see
`_sqlite_begin_immediate`), so writing sessions must be short: open one, do
the work, commit; one left open across a wait blocks every writer of the farm.
Reads go through `read_scope`, whose transactions take no lock at all (WAL).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000

_engines: dict[tuple[str, bool], Engine] = {}
_sessionmakers: dict[tuple[str, bool], sessionmaker[Session]] = {}


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


def _sqlite_begin_deferred(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def _create_engine(url: str, readonly: bool) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        # Let SQLAlchemy, not the driver, issue BEGIN (the driver's legacy mode defers it).
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "connect", lambda conn, _rec: setattr(conn, "isolation_level", None))
        begin = _sqlite_begin_deferred if readonly else _sqlite_begin_immediate
        event.listen(engine, "begin", begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def get_engine(url: str, readonly: bool = False) -> Engine:
    """The engine for `url`, created once per process; `readonly` ones only on SQLite."""
    key = (url, readonly and url.startswith("sqlite"))
    if key not in _engines:
        _engines[key] = _create_engine(*key)
    return _engines[key]


def get_sessionmaker(url: str, readonly: bool = False) -> sessionmaker[Session]:
    key = (url, readonly and url.startswith("sqlite"))
    if key not in _sessionmakers:
        _sessionmakers[key] = sessionmaker(get_engine(*key), expire_on_commit=False)
    return _sessionmakers[key]


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


@contextmanager
def read_scope(url: str) -> Iterator[Session]:
    """A session for reading only: it never writes, and on SQLite takes no lock."""
    session = get_sessionmaker(url, readonly=True)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def dispose_engines() -> None:
    """Forget pooled connections inherited across a fork, without closing the parent's."""
    for engine in _engines.values():
        engine.dispose(close=False)
