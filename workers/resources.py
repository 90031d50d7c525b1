"""Per-process resources of a worker, made on first use and dropped after a fork."""

from __future__ import annotations

import resource

import redis

from config.settings import get_settings
from storage import blob_stores
from storage.blobs import BlobStore
from storage.db import dispose_engines

_redis: redis.Redis | None = None


def blob_store() -> BlobStore:
    """This process's blob store, as its settings name it."""
    return blob_stores.blob_store(get_settings())


def warm_blob_store() -> None:
    """Make the blob store now, not in a job's time: an S3 client takes its service
    model from disk once per process (made without a call to the store)."""
    blob_store()


def redis_client() -> redis.Redis:
    """A Redis client on the broker's server, for pub/sub and other farm keys."""
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(
            get_settings().redis_server_url, socket_connect_timeout=2, socket_timeout=5
        )
    return _redis


def forget_inherited() -> None:
    """Drop connections inherited from a parent process; children make their own."""
    global _redis
    _redis = None
    dispose_engines()
    blob_stores.forget_blob_stores()


def cap_data_memory(limit_mib: int) -> None:
    """Limit this process's data memory (heap and private mappings) to `limit_mib`;
    allocations past it raise MemoryError. 0 leaves the process uncapped."""
    if limit_mib <= 0:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = limit_mib * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
