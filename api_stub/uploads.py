"""Receiving an upload: the request body streamed into the blob store, bounded in size."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from config.settings import Settings
from storage.blobs import BlobTooLarge, LocalBlobStore
from storage.files import FileView, new_file_id, record_file, upload_key


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
    an empty body that was not announced as empty. Nothing is kept on error."""
    file_id = new_file_id()
    store = LocalBlobStore(settings.blob_dir)
    limit = settings.max_upload_bytes if expected_size is None else expected_size
    writer = await run_in_threadpool(store.writer, upload_key(tenant_id, file_id), limit)
    with writer:
        try:
            async for chunk in request.stream():
                writer.write(chunk)
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
        blob = await run_in_threadpool(writer.commit)
    return record_file(session, tenant_id, file_id, name, blob, retention_days)
