"""Per-process resources of a worker, made on first use and dropped after a fork."""

from __future__ import annotations

import redis

from config.settings import get_settings
from storage.blobs import LocalBlobStore
from storage.db import dispose_engines

_redis: redis.Redis | None = None


def blob_store() -> LocalBlobStore:
    return LocalBlobStore(get_settings().blob_dir)


def redis_client() -> redis.Redis:
    """A Redis client on the broker's server, for pub/sub and other farm keys."""
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(
            get_settings().broker_url, socket_connect_timeout=2, socket_timeout=5
        )
    return _redis


def forget_inherited() -> None:
    """Drop connections inherited from a parent process; children make their own."""
    global _redis
    _redis = None
    dispose_engines()
