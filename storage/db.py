"""Engines and sessions: one engine per process and database URL.

On SQLite, a writing session takes the write lock at BEGIN (see
`_sqlite_begin_immediate`), so writing sessions must be short: open one, do
the work, commit; one left open across a wait blocks every writer of the farm.
Reads go through `read_scope`, whose transactions take no lock at all (WAL).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A PostgreSQL client that vanishes mid-transaction (its host lost, its network cut)
# would keep its row and advisory locks until TCP gives up on it, hours later, and a
# queue's release lock with them: the server ends a session idle in a transaction this
# long. The farm's transactions do no I/O but SQL, so none of its own comes near it.
POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS = 30_000
WRITERS_FD = "jobfarm_writers_fd"
HOLDS_TURN = "jobfarm_holds_turn"

# The threads holding a writers' turn (see `_sqlite_begin_immediate`); a connection
# may be checked in by another thread than the one that began its transaction.
_turn_holders: set[int] = set()
# Every turn file this process has open.
_turn_files: set[int] = set()

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
    # Take the write lock at BEGIN, so concurrent writers wait instead of one failing
    # with "database is locked" when it upgrades a read lock. They wait in turn on the
    # writers' file lock first (see `_writers_file`), so SQLite's own wait, which sleeps
    # 1, 2, 5, 10… ms between tries, is left for the rare writer from outside the farm.
    turn = connection.info.get(WRITERS_FD)
    # A thread already in a write transaction would wait on itself: it waits on SQLite
    # alone (and fails after its busy timeout) as it always did.
    thread = threading.get_ident()
    if turn is not None and thread not in _turn_holders:
        fcntl.flock(turn, fcntl.LOCK_EX)
        _turn_holders.add(thread)
        connection.info[HOLDS_TURN] = thread
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _end_turn(_dbapi_connection: Any, record: Any) -> None:
    # On check-in: after the transaction's COMMIT or ROLLBACK has run (the connection
    # events of those fire before it), and on a failed BEGIN too.
    holder = record.info.pop(HOLDS_TURN, None)
    if holder is not None:
        fcntl.flock(record.info[WRITERS_FD], fcntl.LOCK_UN)
        _turn_holders.discard(holder)


def _writers_file(database: str) -> Any:
    """A connect hook that opens, for each writing connection, the file beside the
    database whose `flock` its writers take in turn: the kernel wakes the next writer
    the moment a transaction ends, where SQLite's busy handler would poll."""

    def open_turn(_dbapi_connection: Any, record: Any) -> None:
        turn = os.open(f"{database}.writers", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        _turn_files.add(turn)
        record.info[WRITERS_FD] = turn

    return open_turn


def _close_turn(_dbapi_connection: Any, record: Any) -> None:
    turn = record.info.pop(WRITERS_FD, None)
    if turn is not None:
        _turn_files.discard(turn)
        os.close(turn)


def _forget_turns() -> None:
    """In a forked child: close the parent's turn files. A lock the parent held at the
    fork stays the parent's alone, released when it unlocks or dies, never kept alive
    by a child's copy of the file."""
    for turn in _turn_files:
        os.close(turn)
    _turn_files.clear()
    _turn_holders.clear()


os.register_at_fork(after_in_child=_forget_turns)


def _sqlite_begin_deferred(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def _create_engine(url: str, readonly: bool) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        # Let SQLAlchemy, not the driver, issue BEGIN (the driver's legacy mode defers it).
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "connect", lambda conn, _rec: setattr(conn, "isolation_level", None))
        if readonly:
            event.listen(engine, "begin", _sqlite_begin_deferred)
            return engine
        database = engine.url.database
        if database and database != ":memory:":
            event.listen(engine, "connect", _writers_file(database))
            event.listen(engine, "close", _close_turn)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        event.listen(engine, "checkin", _end_turn)
        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    event.listen(engine, "connect", _end_abandoned_transactions)
    return engine


def _end_abandoned_transactions(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('idle_in_transaction_session_timeout', %s, false)",
            (str(POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS),),
        )
    dbapi_connection.commit()


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


def is_postgresql(session: Session) -> bool:
    """Whether `session` talks to PostgreSQL (else SQLite)."""
    return session.get_bind().dialect.name == "postgresql"


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
