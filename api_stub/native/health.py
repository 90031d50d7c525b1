"""Liveness of the farm's dependencies, and signed blob downloads."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.orm import Session

from api_stub.blob_downloads import blob_response
from api_stub.deps import ReadSessionDep, SettingsDep
from api_stub.problems import Problem
from storage.blobs import BadBlobKey, check_key
from storage.urls import DOWNLOAD_PATH, verify
from workers.resources import redis_client

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(session: ReadSessionDep) -> JSONResponse:
    """200 when the database and Redis both answer; 503 naming the one that doesn't."""
    checks = dependency_checks(session)
    healthy = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if healthy else "unavailable", **checks}
    return JSONResponse(body, status_code=200 if healthy else 503)


def dependency_checks(session: Session) -> dict[str, str]:
    """ "ok" or the error, for the database and for Redis."""
    checks = {"database": "ok", "redis": "ok"}
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        redis_client().ping()
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    return checks


@router.get(
    DOWNLOAD_PATH + "{key:path}",
    response_class=Response,
    tags=["files"],
    responses={200: {"content": {"application/octet-stream": {}}}, 302: {}},
)
def download_blob(
    key: str,
    expires: int,
    signature: Annotated[str, Query(max_length=128, pattern="^[0-9a-f]*$")],
    settings: SettingsDep,
) -> Response:
    """A blob, for whoever holds an unexpired signed URL to it: its bytes, or with
    `blob_downloads = presigned` a redirect to the object store, valid as long as the
    link still is."""
    if not verify(settings.url_signing_secret, key, expires, signature):
        raise Problem(403, "the link is invalid or has expired", "bad-signature")
    try:
        name = check_key(key).name
    except BadBlobKey:
        raise Problem(404, "no such blob", "not-found") from None
    return blob_response(settings, key, name, ttl_s=int(expires - time.time()) + 1)
