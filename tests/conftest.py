"""Fixtures shared by the tiers: real services, or ones the suite starts itself."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config.settings import normalize_sql_url
from storage.db import get_engine
from tests.farm import RedisServer
from tests.rabbit import amqp_admin_url, fresh_vhost, why_rabbitmqctl_cannot_run
from tests.s3 import SeaweedS3, why_weed_cannot_run


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis database for the suite: JOBFARM_TEST_REDIS_URL's (flushed before and after;
    never database 0), or a redis-server of our own."""
    given = os.environ.get("JOBFARM_TEST_REDIS_URL")
    if given:
        client = redis.Redis.from_url(given)
        db = client.connection_pool.connection_kwargs.get("db", 0)
        assert db != 0, "point JOBFARM_TEST_REDIS_URL at a database other than 0"
        client.flushdb()
        yield given
        client.flushdb()
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """A real S3 server (SeaweedFS) for the suite; skips its tests, saying why, only
    when the `weed` binary cannot run here."""
    reason = why_weed_cannot_run()
    if reason:
        pytest.skip(reason)
    server = SeaweedS3(tmp_path_factory.mktemp("seaweedfs"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def broker_settings() -> Iterator[dict[str, str]]:
    """The session farm's broker: none (Celery on the suite's Redis), or with
    JOBFARM_TEST_AMQP_URL a RabbitMQ virtual host of the suite's own, deleted after."""
    admin_url = amqp_admin_url()
    if admin_url is None:
        yield {}
        return
    why = why_rabbitmqctl_cannot_run()
    if why:
        pytest.fail(f"JOBFARM_TEST_AMQP_URL is set, but {why}")
    with fresh_vhost(admin_url) as url:
        yield {"broker_url": url}


@pytest.fixture(scope="session")
def farm_blob_settings(request: pytest.FixtureRequest) -> dict[str, str]:
    """The session farm's blob settings: none (blobs under its var dir), or with
    JOBFARM_TEST_BLOB_URL=s3://bucket/prefix that bucket on the suite's S3 server."""
    url = os.environ.get("JOBFARM_TEST_BLOB_URL")
    if not url:
        return {}
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    server: SeaweedS3 = request.getfixturevalue("s3_server")
    server.create_bucket(bucket)
    return server.settings(bucket, prefix.strip("/"))


@contextmanager
def fresh_postgres_database() -> Iterator[str | None]:
    """A new PostgreSQL database on JOBFARM_TEST_POSTGRES_URL's server, dropped
    afterwards; None when no server is named (farms then use SQLite of their own)."""
    admin_url = os.environ.get("JOBFARM_TEST_POSTGRES_URL")
    if not admin_url:
        yield None
        return
    name = f"jobfarm_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_sql_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = normalize_sql_url(
        make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    )
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str | None]:
    """The session farm's database: a fresh PostgreSQL one, or None (SQLite)."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def own_database_url() -> Iterator[str | None]:
    """A database for a farm on a Redis of its own. Sharing the session farm's would let
    that farm's reconciler take this farm's jobs and webhooks into its own Redis."""
    with fresh_postgres_database() as url:
        yield url
