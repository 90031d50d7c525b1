"""Request sessions end as they must, whether the route committed or not."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from api_stub.deps import close


def make_engine(tmp_path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    return engine


def rows_in(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("SELECT count(*) FROM t").scalar() or 0)


def test_a_session_left_in_a_transaction_is_rolled_back_and_closed(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    session = Session(engine)
    session.execute(text("INSERT INTO t VALUES (1)"))

    asyncio.run(close(session))

    assert not session.in_transaction()
    assert rows_in(engine) == 0


def test_a_committed_session_keeps_its_rows_when_closed(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    session = Session(engine)
    session.execute(text("INSERT INTO t VALUES (1)"))
    session.commit()

    asyncio.run(close(session))

    assert rows_in(engine) == 1
