"""Receiving an upload: the request body streamed into the blob store, bounded in size."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api_stub.problems import Problem
from config.settings import Settings
from storage.blobs import BlobTooLarge, LocalBlobStore
from storage.files import FileView, new_file_id, record_file, upload_key


async def receive_upload(
    request: Request,
    session: Session,
    settings: Settings,
    tenant_id: str,
    name: str,
    retention_days: int | None,
    expected_size: int | None = None,
) -> FileView:
    """Stream the body to a new blob and record it; 413 past the size limit, 400 when the
    body is empty or its size differs from `expected_size`. Nothing is kept on error."""
    file_id = new_file_id()
    store = LocalBlobStore(settings.blob_dir)
    writer = await run_in_threadpool(
        store.writer, upload_key(tenant_id, file_id), settings.max_upload_bytes
    )
    with writer:
        try:
            async for chunk in request.stream():
                writer.write(chunk)
        except BlobTooLarge:
            raise Problem(
                413, f"uploads are limited to {settings.max_upload_bytes} bytes"
            ) from None
        if writer.size == 0:
            raise Problem(400, "the upload is empty", "empty-upload")
        if expected_size is not None and writer.size != expected_size:
            raise Problem(
                400,
                f"file_size says {expected_size} bytes but {writer.size} arrived",
                "size-mismatch",
            )
        blob = await run_in_threadpool(writer.commit)
    return record_file(session, tenant_id, file_id, name, blob, retention_days)
