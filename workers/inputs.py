"""Bringing a job's input into its work directory: from the blob store or a URL."""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests

from config.settings import Settings
from storage.blobs import BlobNotFound, BlobStore, BlobStoreUnavailable
from storage.db import read_scope
from storage.files import FileNotFound, get_file
from storage.jobs import JobView
from tasks.errors import InputFetchFailed, InputForbidden, InputTooLarge, InvalidInput
from workers.http_guard import DeadlineExceeded, ForbiddenAddress, client_session

CHUNK_BYTES = 1024 * 1024
UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, fallback: str = "input") -> str:
    """A file name with no path and no odd characters, keeping its extension."""
    cleaned = UNSAFE_NAME.sub("_", Path(name).name).strip("._")
    return cleaned[:120] or fallback


def fetch_inputs(
    job: JobView, into: Path, settings: Settings, store: BlobStore
) -> tuple[Path, ...]:
    """The job's input files, placed under `into`; empty when the job takes none."""
    if job.input_file_id or job.input_url:
        into.mkdir(parents=True, exist_ok=True)
    if job.input_file_id:
        return (copy_upload(job, into, settings, store),)
    if job.input_url:
        return (download(job.input_url, into, settings),)
    return ()


def copy_upload(job: JobView, into: Path, settings: Settings, store: BlobStore) -> Path:
    """The job's uploaded input, fetched from the store (streamed) into `into`."""
    assert job.input_file_id
    try:
        # A read: on SQLite it waits for no writer's turn.
        with read_scope(settings.sql_url) as session:
            stored = get_file(session, job.tenant_id, job.input_file_id)
    except FileNotFound:
        raise InvalidInput(f"input file {job.input_file_id} is gone (expired or deleted)") from None
    target = into / safe_name(stored.name)
    try:
        store.fetch(stored.blob_key, target)
    except BlobNotFound:
        raise InvalidInput(f"input file {job.input_file_id} is gone (expired or purged)") from None
    except BlobStoreUnavailable as exc:
        raise InputFetchFailed(
            f"input file {job.input_file_id} could not be fetched: {exc}"
        ) from None
    return target


def download(url: str, into: Path, settings: Settings) -> Path:
    """Stream `url` to a file, bounded in size and, however slowly the server sends, in
    total time (`input_download_timeout_s`, connecting included), through the SSRF
    guard when on."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise InputForbidden("input_url must be http or https")
    target = into / safe_name(unquote(urlsplit(url).path), fallback="download")
    total_s = settings.input_download_timeout_s
    deadline = time.monotonic() + total_s
    try:
        with (
            client_session(settings.ssrf_guard_enabled) as http,
            http.get(url, stream=True, timeout=(min(10.0, total_s), total_s)) as response,
        ):
            if response.status_code >= 400:
                raise_for_status(response.status_code, url)
            write_body(response, target, settings.max_input_download_bytes)
    except ForbiddenAddress as exc:
        raise InputForbidden(f"input_url refused: {exc}") from None
    except requests.RequestException as exc:
        # The session cut the body at the deadline, which reads as a broken stream.
        if isinstance(exc, DeadlineExceeded) or time.monotonic() >= deadline:
            raise InputFetchFailed(f"input_url download took longer than {total_s:g} s") from None
        raise InputFetchFailed(f"input_url could not be fetched: {type(exc).__name__}") from None
    return target


def write_body(response: requests.Response, target: Path, limit: int) -> None:
    written = 0
    with target.open("wb") as out:
        for chunk in response.iter_content(CHUNK_BYTES):
            written += len(chunk)
            if written > limit:
                raise InputTooLarge(f"input_url is larger than {limit} bytes")
            out.write(chunk)


def raise_for_status(status: int, url: str) -> None:
    host = urlsplit(url).hostname
    if status in (408, 425, 429) or status >= 500:
        raise InputFetchFailed(f"input_url answered HTTP {status} ({host})")
    raise InvalidInput(f"input_url answered HTTP {status} ({host})")
