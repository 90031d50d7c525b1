"""Checks every blob store must pass, run against the local and the S3 store alike."""

from __future__ import annotations

from storage.blobs import BlobStore


def check_prefixes_under(store: BlobStore) -> None:
    """`prefixes_under` lists the prefixes one level down that hold blobs, and no other:
    not a sibling sharing the name's start, not a blob at that level, not deeper ones."""
    for key in ("jobs/j1/run_a/x.png", "jobs/j1/run_a/y.png", "jobs/j1/run_b/x/deep.png"):
        store.put_chunks(key, [b"x"])
    store.put_chunks("jobs/j10/run_c/x.png", [b"x"])
    store.put_chunks("jobs/j1/loose.png", [b"x"])
    assert store.prefixes_under("jobs/j1") == ["jobs/j1/run_a", "jobs/j1/run_b"]
    assert store.prefixes_under("jobs/none") == []
