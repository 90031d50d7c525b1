"""Answering a download of a stored blob: the file itself, the store's bytes streamed,
or a redirect to the store's presigned URL, as `blob_downloads` says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from api_stub.problems import Problem
from config.settings import Settings
from storage.blob_stores import blob_store
from storage.blobs import CHUNK_BYTES, BlobNotFound, BlobStore, content_disposition


def blob_response(settings: Settings, key: str, filename: str, ttl_s: int) -> Response:
    """Blob `key` downloaded as `filename`; 404 when the store has no such blob. A
    redirect's presigned URL lives `ttl_s` seconds. Blocks on the store: call it from a
    sync route (run in the thread pool)."""
    store = blob_store(settings)
    path = store.local_path(key)
    if path is not None:
        if not path.is_file():
            raise missing()
        return FileResponse(path, filename=filename, media_type="application/octet-stream")
    size = store.size(key)
    if size is None:
        raise missing()
    if settings.blob_downloads == "presigned":
        url = store.presigned_url(key, ttl_s, filename)
        if url is not None:
            return RedirectResponse(url, status_code=302)
    return streamed(store, key, size, filename)


def streamed(store: BlobStore, key: str, size: int, filename: str) -> StreamingResponse:
    """The blob's bytes through the API, a chunk at a time (never whole in memory)."""
    try:
        body = store.open(key)
    except BlobNotFound:
        raise missing() from None
    headers = {"Content-Length": str(size), "Content-Disposition": content_disposition(filename)}
    return StreamingResponse(
        chunks_of(body), media_type="application/octet-stream", headers=headers
    )


def chunks_of(body: BinaryIO) -> Iterator[bytes]:
    # Starlette iterates a sync iterator in its thread pool, so reads never block the loop.
    try:
        yield from iter(lambda: body.read(CHUNK_BYTES), b"")
    finally:
        body.close()


def missing() -> Problem:
    return Problem(404, "no such blob (expired or purged)", "not-found")
