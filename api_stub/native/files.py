"""Native files API: upload (streamed to the blob store), read, download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api_stub.blob_downloads import blob_response
from api_stub.deps import CallerDep, ReadSessionDep, RequestIdDep, SessionDep, SettingsDep
from api_stub.native.schemas import FilePublic
from api_stub.problems import Problem
from api_stub.uploads import UploadRejected, receive_upload
from config.settings import Settings
from storage import audit
from storage.files import FileNotFound, FileView, get_file
from storage.urls import download_links

router = APIRouter(prefix="/v1/files", tags=["files"])


def public(stored: FileView, settings: Settings) -> FilePublic:
    url = download_links(settings)(stored.blob_key)
    return FilePublic(
        id=stored.id,
        name=stored.name,
        size=stored.size,
        sha256=stored.sha256,
        created_at=stored.created_at,
        expires_at=stored.expires_at,
        url=url,
    )


@router.post("", status_code=201, response_model=FilePublic)
async def upload_file(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
    name: Annotated[str, Query(min_length=1, max_length=255)],
    retention_days: Annotated[int | None, Query(ge=1, le=365)] = None,
) -> FilePublic:
    """Upload a file as the raw request body; it is kept `retention_days` (default: the farm's)."""
    days = retention_days or settings.file_retention_days
    try:
        stored = await receive_upload(request, session, settings, caller.tenant_id, name, days)
    except UploadRejected as exc:
        status = 413 if exc.reason == "too-large" else 400
        raise Problem(status, exc.message, exc.reason) from None
    audit.record(
        session,
        "file.upload",
        caller.key_id,
        caller.tenant_id,
        stored.id,
        request_id,
        size=stored.size,
    )
    session.commit()
    return public(stored, settings)


@router.get("/{file_id}", response_model=FilePublic)
def read_file(
    file_id: str, caller: CallerDep, session: ReadSessionDep, settings: SettingsDep
) -> FilePublic:
    return public(_owned(session, caller.tenant_id, file_id), settings)


@router.get(
    "/{file_id}/content",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}, 302: {}},
)
def download_file(
    file_id: str, caller: CallerDep, session: ReadSessionDep, settings: SettingsDep
) -> Response:
    """The file's bytes, or a redirect to the object store's presigned URL for them
    (`blob_downloads = presigned`)."""
    stored = _owned(session, caller.tenant_id, file_id)
    return blob_response(settings, stored.blob_key, stored.name, settings.signed_url_ttl_s)


def _owned(session: Session, tenant_id: str, file_id: str) -> FileView:
    try:
        return get_file(session, tenant_id, file_id)
    except FileNotFound:
        raise Problem(404, f"file {file_id} not found", "not-found") from None
