"""Receiving an upload: the request body streamed into the blob store, bounded in size."""

from __future__ import annotations

import anyio
from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from config.settings import Settings
from storage.blob_stores import blob_store
from storage.blobs import BlobTooLarge, BlobWriter
from storage.files import FileView, new_file_id, record_file, upload_key

# The body goes to the store in blocks of this size: one thread hop each, not one per
# network chunk.
BLOCK_BYTES = 1024 * 1024


class UploadRejected(Exception):
    """An upload the farm refuses; `reason` is "too-large", "empty-upload" or "size-mismatch"."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason, self.message = reason, message
        super().__init__(message)


async def receive_upload(
    request: Request,
    session: Session,
    settings: Settings,
    tenant_id: str,
    name: str,
    retention_days: int | None,
    expected_size: int | None = None,
) -> FileView:
    """Stream the body to a new blob and record it. `UploadRejected` past the size limit
    (the farm's, or `expected_size`), when the size differs from `expected_size`, or for
    an empty body that was not announced as empty. Nothing is kept on error: the blob's
    writer is aborted (an S3 multipart upload with it)."""
    file_id = new_file_id()
    store = blob_store(settings)
    limit = settings.max_upload_bytes if expected_size is None else expected_size
    writer = await run_in_threadpool(store.writer, upload_key(tenant_id, file_id), limit)
    try:
        await stream_body(request, writer, settings, expected_size)
        blob = await run_in_threadpool(writer.commit)
    except BaseException:
        # Shielded: a client that hung up cancels the request, and the abort must still run.
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(writer.abort)
        raise
    return record_file(session, tenant_id, file_id, name, blob, retention_days)


async def stream_body(
    request: Request, writer: BlobWriter, settings: Settings, expected_size: int | None
) -> None:
    """The request body into `writer`, a block at a time off the event loop (a block
    may be a network call to an object store)."""
    block = bytearray()
    try:
        async for chunk in request.stream():
            block += chunk
            if len(block) >= BLOCK_BYTES:
                await run_in_threadpool(writer.write, bytes(block))
                block.clear()
        if block:
            await run_in_threadpool(writer.write, bytes(block))
    except BlobTooLarge:
        if expected_size is not None:
            raise UploadRejected(
                "size-mismatch", f"file_size says {expected_size} bytes but more arrived"
            ) from None
        raise UploadRejected(
            "too-large", f"uploads are limited to {settings.max_upload_bytes} bytes"
        ) from None
    if writer.size == 0 and expected_size != 0:
        raise UploadRejected("empty-upload", "the upload is empty")
    if expected_size is not None and writer.size != expected_size:
        raise UploadRejected(
            "size-mismatch", f"file_size says {expected_size} bytes but {writer.size} arrived"
        )
