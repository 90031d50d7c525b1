"""fractal3d's job endpoints: files, conversions, thumbnails, AccessTokens.

Each route checks its scope, calls one function of the farm, and answers in the
dialect's words. Job states read as Pending / Succeeded / Failed.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from api_stub import tokens
from api_stub.callers import Principal
from api_stub.deps import ReadSessionDep, RequestIdDep, SessionDep, SettingsDep
from api_stub.fractal3d.auth import TOKEN_PREFIX, held_scopes, require
from api_stub.fractal3d.errors import ErrorType, Fractal3dError
from api_stub.fractal3d.schemas import (
    AccessTokenIssued,
    AccessTokenRequest,
    ConvertRequest,
    FileId,
    FileInfo,
    ResultFile,
    SourceFile,
    ThumbnailRequest,
    TransactionId,
)
from api_stub.fractal3d.scopes import Scope, UnknownPermission, scope_for
from api_stub.fractal3d.shapes import FRACTAL3D_STATUS, first_output_url
from api_stub.submission import Rejected, Submission, submit
from api_stub.uploads import UploadRejected, receive_upload
from config.settings import Settings
from storage import jobs
from storage.blob_stores import blob_store
from storage.blobs import BlobNotFound, BlobTooLarge
from storage.files import FileNotFound, FileView, get_file
from storage.jobs import JobNotFound
from storage.urls import download_links
from tasks.errors import JobError
from tasks.formats import TWO_D, detect_format

router = APIRouter()

MAX_FILE_BYTES = 4 * 1024**3
DIALECT = "fractal3d"
KIND_OF_PATH = {"converts": "convert", "thumbnail": "thumbnail"}


def mark_audited(request: Request, object_id: str) -> None:
    """Name the object of this call for the audit log (the gate writes the entry)."""
    request.state.audit_object = object_id


@router.post("/files", response_model=FileId)
async def upload_file(
    request: Request,
    principal: Annotated[Principal, Depends(require(Scope.WRITE_FILE))],
    session: SessionDep,
    settings: SettingsDep,
    file_name: Annotated[str, Query(min_length=1, max_length=255)],
    file_size: Annotated[int, Query(ge=0, le=MAX_FILE_BYTES)],
    file_retention_days: int = -1,
) -> FileId:
    """Upload the body (application/octet-stream), streamed; it must be `file_size` bytes."""
    if file_retention_days != -1 and not 1 <= file_retention_days <= 365:
        raise invalid("file_retention_days: must be -1 (keep forever) or 1 to 365")
    if file_size > settings.max_upload_bytes:
        raise invalid(f"file_size: this farm takes files up to {settings.max_upload_bytes} bytes")
    days = None if file_retention_days == -1 else file_retention_days
    try:
        stored = await receive_upload(
            request, session, settings, principal.tenant_id, file_name, days, file_size
        )
    except UploadRejected as exc:
        raise invalid(exc.message) from None
    session.commit()
    mark_audited(request, stored.id)
    return FileId(file_id=stored.id)


@router.get("/files", response_model=FileInfo)
def read_file(
    request: Request,
    principal: Annotated[Principal, Depends(require(Scope.READ_FILE))],
    session: ReadSessionDep,
    settings: SettingsDep,
    file_id: Annotated[str, Query(min_length=1, max_length=60)],
) -> FileInfo:
    stored = owned_file(session, principal.tenant_id, file_id)
    mark_audited(request, stored.id)
    return FileInfo(
        file_id=stored.id,
        file_name=stored.name,
        size=stored.size,
        signed_url=download_links(settings)(stored.blob_key),
    )


@router.post("/converts", response_model=TransactionId)
def request_conversion(
    request: Request,
    body: ConvertRequest,
    principal: Annotated[Principal, Depends(require(Scope.WRITE_TRANSACTION))],
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> TransactionId:
    """Convert a 3D model to e3dx (GLB) or a 2D drawing to e2dx (SVG)."""
    if body.file_id:
        check_dimension(session, settings, principal, body.file_id, body.target_format)
    params = {"target_format": body.target_format}
    return start(request, session, settings, principal, request_id, "convert", body, params)


@router.post("/thumbnail", response_model=TransactionId)
def request_thumbnail(
    request: Request,
    body: ThumbnailRequest,
    principal: Annotated[Principal, Depends(require(Scope.WRITE_TRANSACTION))],
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> TransactionId:
    """A `width`×`height` PNG of a 3D model."""
    if body.file_id:
        check_dimension(session, settings, principal, body.file_id, "thumbnail")
    params = {"width": body.width, "height": body.height}
    return start(request, session, settings, principal, request_id, "thumbnail", body, params)


@router.get("/converts/result_file", response_model=ResultFile)
@router.get("/thumbnail/result_file", response_model=ResultFile)
def result_file(
    request: Request,
    principal: Annotated[Principal, Depends(require(Scope.READ_TRANSACTION))],
    session: ReadSessionDep,
    settings: SettingsDep,
    transaction_id: Annotated[str, Query(min_length=1, max_length=60)],
) -> ResultFile:
    """Pending until the job ends; then Succeeded with the result's signed URL, or Failed."""
    kind = KIND_OF_PATH[request.url.path.rstrip("/").split("/")[-2]]
    try:
        job = jobs.get_job(session, principal.tenant_id, transaction_id)
    except JobNotFound:
        job = None
    if job is None or job.kind != kind or job.dialect != DIALECT:
        raise Fractal3dError(ErrorType.NOT_FOUND, "transaction not found")
    mark_audited(request, job.id)
    return ResultFile(
        url=first_output_url(job, download_links(settings)),
        status=FRACTAL3D_STATUS[job.state],
        message=job.error_message,
    )


@router.post("/users/access-token", response_model=AccessTokenIssued)
def issue_access_token(
    request: Request,
    body: AccessTokenRequest,
    principal: Annotated[Principal, Depends(require(Scope.WRITE_USER))],
    settings: SettingsDep,
) -> AccessTokenIssued:
    """A 24-hour AccessToken with the asked scopes. A token can only hand on scopes it
    holds, and never outlives itself."""
    try:
        wanted = frozenset(scope_for(p.resource, p.operation) for p in body.permissions)
    except UnknownPermission as exc:
        raise invalid(f"permissions: {exc}") from None
    if not wanted <= held_scopes(principal):
        missing = ", ".join(sorted(wanted - held_scopes(principal)))
        raise Fractal3dError(ErrorType.PERMISSION_DENIED, f"cannot grant what it lacks: {missing}")
    ttl_s = settings.access_token_ttl_s
    if principal.expires_at is not None:
        ttl_s = min(ttl_s, principal.expires_at - int(time.time()))
    token, granted = tokens.issue(
        TOKEN_PREFIX,
        settings.access_token_secret,
        principal.tenant_id,
        principal.key_id,
        frozenset(wanted),
        ttl_s,
    )
    mark_audited(request, f"token:{granted.token_id}")
    return AccessTokenIssued(access_token=token)


def start(
    request: Request,
    session: Session,
    settings: Settings,
    principal: Principal,
    request_id: str | None,
    kind: str,
    body: SourceFile,
    params: dict[str, Any],
) -> TransactionId:
    sub = Submission(
        tenant_id=principal.tenant_id,
        kind=kind,
        params=params,
        input_file_id=body.file_id,
        input_url=body.url,
        callback_url=body.webhook_url,
        dialect=DIALECT,
    )
    try:
        job, _ = submit(session, sub, settings, request_id, actor=principal.actor)
    except Rejected as exc:
        raise invalid(exc.message) from None
    mark_audited(request, job.id)
    return TransactionId(transaction_id=job.id)


def check_dimension(
    session: Session, settings: Settings, principal: Principal, file_id: str, target: str
) -> None:
    """NotSupported now, not Failed later, when an uploaded file is plainly the wrong kind
    for `target` (e3dx, e2dx or thumbnail). Anything the sniff can't name goes to the
    worker, which fails it with the reason."""
    stored = owned_file(session, principal.tenant_id, file_id)
    store = blob_store(settings)
    try:
        with store.local_copy(stored.blob_key, settings.blob_inspect_max_bytes) as path:
            fmt = detect_format(path)
    except (JobError, BlobTooLarge, BlobNotFound):
        return
    if target == "e2dx" and fmt not in TWO_D:
        raise Fractal3dError(ErrorType.NOT_SUPPORTED, f"{fmt} is a 3D model: use e3dx")
    if target == "e3dx" and fmt in TWO_D:
        raise Fractal3dError(ErrorType.NOT_SUPPORTED, f"{fmt} is a 2D drawing: use e2dx")
    if target == "thumbnail" and fmt in TWO_D:
        raise Fractal3dError(
            ErrorType.NOT_SUPPORTED, f"{fmt} is a 2D drawing: thumbnails are of 3D models only"
        )


def owned_file(session: Session, tenant_id: str, file_id: str) -> FileView:
    try:
        return get_file(session, tenant_id, file_id)
    except FileNotFound:
        raise Fractal3dError(ErrorType.NOT_FOUND, "file not found") from None


def invalid(message: str) -> Fractal3dError:
    return Fractal3dError(ErrorType.INVALID_PARAMETER, message)
