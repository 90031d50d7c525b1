"""The farm's blob store, as its settings name it: the one way every caller gets it."""

from __future__ import annotations

import os
import threading

from config.settings import Settings
from storage.blobs import BlobStore, LocalBlobStore

_stores: dict[tuple[object, ...], BlobStore] = {}
_making = threading.Lock()


def blob_store(settings: Settings) -> BlobStore:
    """The farm's blob store as `settings` name it: S3 for an `s3://` blob URL, else
    the directory `var_dir/blobs`. Made once per process and settings (an S3 client
    keeps a connection pool); `forget_blob_stores` after a fork."""
    identity = store_identity(settings)
    store = _stores.get(identity)
    if store is None:
        with _making:
            store = _stores.get(identity) or make_blob_store(settings)
            _stores[identity] = store
    return store


def make_blob_store(settings: Settings) -> BlobStore:
    if settings.blob_url:
        # Imported here: boto3 takes a while to load, and embedded farms never need it.
        from storage.s3blobs import s3_blob_store

        return s3_blob_store(settings)
    return LocalBlobStore(settings.blob_dir)


def store_identity(settings: Settings) -> tuple[object, ...]:
    secret = settings.blob_s3_secret_access_key
    return (
        settings.blob_url,
        # Made absolute, not resolved: asked for at every job, and a resolve costs a
        # system call per part of the path.
        os.path.abspath(settings.blob_dir),
        settings.blob_s3_endpoint_url,
        settings.blob_s3_access_key_id,
        secret.get_secret_value() if secret else None,
        settings.blob_s3_region,
        settings.blob_s3_addressing_style,
        settings.blob_s3_connect_timeout_s,
        settings.blob_s3_read_timeout_s,
        settings.blob_s3_max_attempts,
        settings.blob_s3_part_bytes,
    )


def forget_blob_stores() -> None:
    """Drop the stores made so far: a forked child must not share its parent's pool."""
    _stores.clear()
