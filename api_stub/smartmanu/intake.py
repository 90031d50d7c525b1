"""Taking a batch in: every task validated before anything is stored, then one
transaction for the batch and all its jobs. Pure but for the file lookup."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api_stub.smartmanu.errors import SmartmanuError, bad_request
from api_stub.smartmanu.schemas import BatchTask, DesignRequest
from config.settings import Settings
from storage.blob_stores import blob_store
from storage.blobs import BlobNotFound, BlobTooLarge
from storage.db import read_scope
from storage.files import FileNotFound, get_file
from storage.jobs import NewJob
from storage.models import StoredFile, utcnow
from storage.random_ids import random_bytes
from tasks.errors import InvalidInput
from tasks.registry import get_kind

if TYPE_CHECKING:
    from tasks.design.image import ImageFacts

DIALECT = "smartmanu"
DESIGN_KIND = "design"


def new_public_id(prefix: str) -> str:
    """`DSG-2026-3F9A1C2B7D4E5F60`: the seed's shape, with 64 random bits."""
    return f"{prefix}-{datetime.now(UTC).year}-{random_bytes(8).hex().upper()}"


def design_params(request: DesignRequest, label: str = "params") -> BaseModel:
    """The `design` kind's validated params; 400 naming `label` and the field if invalid."""
    try:
        return get_kind(DESIGN_KIND).params.model_validate(request.kind_params())
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "params"
        raise bad_request(f"{label}: {field}: {first['msg']}", field=field) from None


def design_job(
    tenant_id: str,
    request: DesignRequest,
    settings: Settings,
    label: str = "params",
    client_ref: str | None = None,
) -> NewJob:
    """The job for one design request (a batch's task names its `client_ref`); 400
    naming `label` and the field if it is invalid."""
    kind = get_kind(DESIGN_KIND)
    params = design_params(request, label)
    return NewJob(
        tenant_id=tenant_id,
        kind=kind.name,
        queue=kind.queue,
        params=params.model_dump(mode="json", exclude_unset=True),
        max_attempts=settings.max_attempts,
        input_file_id=request.image_file_id(),
        dialect=DIALECT,
        job_id=new_public_id("DSG"),
        priority=settings.priority_for(DIALECT),
        client_ref=client_ref,
    )


def batch_jobs(
    session: Session, tenant_id: str, tasks: list[BatchTask], settings: Settings
) -> list[NewJob]:
    """One job per task, or a 400 naming the first bad task: too many, a repeated
    `task_id`, invalid params, or an image file the tenant does not have."""
    if len(tasks) > settings.max_batch_tasks:
        raise bad_request(f"a batch takes at most {settings.max_batch_tasks} tasks")
    seen: set[str] = set()
    jobs = []
    for number, task in enumerate(tasks):
        if task.task_id in seen:
            raise bad_request(f"task_id {task.task_id!r} appears twice", task_id=task.task_id)
        seen.add(task.task_id)
        label = f"task {number} (task_id {task.task_id!r})"
        jobs.append(design_job(tenant_id, task.design_params, settings, label, task.task_id))
    check_files(session, tenant_id, jobs)
    return jobs


def check_files(session: Session, tenant_id: str, jobs: list[NewJob]) -> None:
    """400 unless every image file the jobs draw is the tenant's and alive."""
    wanted = {j.input_file_id for j in jobs if j.input_file_id}
    if not wanted:
        return
    found = set(
        session.scalars(
            select(StoredFile.id).where(
                StoredFile.id.in_(wanted),
                StoredFile.tenant_id == tenant_id,
                StoredFile.purged_at.is_(None),
                (StoredFile.expires_at.is_(None)) | (StoredFile.expires_at > utcnow()),
            )
        )
    )
    missing = sorted(wanted - found)
    if missing:
        raise SmartmanuError(400, f"no such file: {missing[0]}", data={"file_id": missing[0]})


def check_callback_url(url: str) -> None:
    """400 unless `url` is an absolute http(s) URL (where it points is checked when the
    callback is sent, behind the SSRF guard)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request("X-Callback-Url must be an http or https URL", field="X-Callback-Url")


def image_facts(tenant_id: str, file_id: str | None, settings: Settings) -> ImageFacts | None:
    """What the header of the image an `image` pattern draws says (its size; no pixel is
    decoded in the API); None for other patterns; 400 if it is missing or not an image
    the design kind takes."""
    if file_id is None:
        return None
    with read_scope(settings.sql_url) as session:
        try:
            stored = get_file(session, tenant_id, file_id)
        except FileNotFound:
            raise bad_request(f"no such file: {file_id}") from None
    # Imported here: the design package loads numpy and Pillow, which the API needs only
    # for a request that names an image.
    from tasks.design.image import read_image_facts

    store = blob_store(settings)
    try:
        with store.local_copy(stored.blob_key, settings.blob_inspect_max_bytes) as path:
            return read_image_facts(path)
    except InvalidInput as exc:
        raise bad_request(str(exc)) from None
    except BlobNotFound:
        raise bad_request(f"the file {file_id} is gone (expired or purged)") from None
    except BlobTooLarge:
        raise bad_request(
            f"the image is larger than {settings.blob_inspect_max_bytes} bytes"
        ) from None


def as_request(params: BaseModel) -> dict[str, Any]:
    """Design params back in the request's shape: `{"product_type", "params"}`."""
    fields = params.model_dump(mode="json", exclude_none=True)
    return {"product_type": fields.pop("product_type"), "params": fields}
