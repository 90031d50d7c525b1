"""Blobs as objects of an S3-compatible store, through boto3.

A blob is written as a multipart upload, one part in memory at a time: the object
appears whole when the upload completes, and an aborted upload leaves no object.
Every call is bounded by the client's connect and read timeouts and its retries."""

from __future__ import annotations

import functools
import hashlib
import logging
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, ParamSpec, TypeVar, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from config.settings import Settings
from storage.blobs import (
    CHUNK_BYTES,
    UNLIMITED,
    BlobNotFound,
    BlobStoreUnavailable,
    BlobTooLarge,
    StoredBlob,
    check_key,
    content_disposition,
)

log = logging.getLogger(__name__)

# S3's own bounds: at most 10,000 parts of a multipart upload, 1,000 keys a delete.
MAX_PARTS = 10_000
DELETE_BATCH = 1000
NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})

P = ParamSpec("P")
R = TypeVar("R")


def store_errors(call: Callable[P, R]) -> Callable[P, R]:
    """`call` with boto3's failures (after its own retries) raised as BlobStoreUnavailable,
    naming the error's code and never the request's credentials."""

    @functools.wraps(call)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return call(*args, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "?")
            raise BlobStoreUnavailable(f"the blob store refused {call.__name__}: {code}") from exc
        except BotoCoreError as exc:
            raise BlobStoreUnavailable(
                f"the blob store could not be reached ({call.__name__}): {type(exc).__name__}"
            ) from exc

    return wrapper


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        """`s3://bucket/some/prefix` → bucket and prefix (no slashes at its ends)."""
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        return cls(bucket, prefix.strip("/"))


# One boto3 session per process: its loader keeps the service models it read, so a
# client after the first (or in a forked child) costs milliseconds, not most of a second.
# Sessions are not thread-safe: clients are made under the lock (clients themselves are).
_session = boto3.session.Session()
_session_lock = threading.Lock()


def s3_client(settings: Settings) -> Any:
    """A boto3 S3 client for the settings' endpoint and credentials, with explicit
    timeouts and retries. The secret goes to boto3 only, never to a log."""
    secret = settings.blob_s3_secret_access_key
    config = Config(
        signature_version="s3v4",
        connect_timeout=settings.blob_s3_connect_timeout_s,
        read_timeout=settings.blob_s3_read_timeout_s,
        retries={"max_attempts": settings.blob_s3_max_attempts, "mode": "standard"},
        s3={"addressing_style": settings.blob_s3_addressing_style},
        # Checksums only where the API requires them: several S3-compatible servers
        # refuse the CRC headers boto3 would otherwise add to every upload.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    with _session_lock:
        return _session.client(
            "s3",
            endpoint_url=settings.blob_s3_endpoint_url,
            region_name=settings.blob_s3_region,
            aws_access_key_id=settings.blob_s3_access_key_id,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            config=config,
        )


def s3_blob_store(settings: Settings) -> S3BlobStore:
    assert settings.blob_url, "an S3 blob store needs JOBFARM_BLOB_URL"
    location = S3Location.parse(settings.blob_url)
    return S3BlobStore(s3_client(settings), location, settings.blob_s3_part_bytes)


def is_not_found(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in NOT_FOUND_CODES


def part_size_for(max_bytes: int, part_bytes: int) -> int:
    """The part size that fits `max_bytes` in S3's 10,000 parts, at least `part_bytes`."""
    if max_bytes >= UNLIMITED:
        return part_bytes
    return max(part_bytes, -(-max_bytes // MAX_PARTS))


class S3BlobWriter:
    """Writes one object as a multipart upload, holding at most one part in memory.

    A blob smaller than one part goes up as a single PUT at `commit`. Used as a context
    manager, a writer left without `commit` aborts its multipart upload."""

    def __init__(
        self, client: Any, bucket: str, name: str, key: str, max_bytes: int, part_bytes: int
    ) -> None:
        self._client, self._bucket, self._name, self._key = client, bucket, name, key
        self._max_bytes, self._part_bytes = max_bytes, part_size_for(max_bytes, part_bytes)
        self._buffer = bytearray()
        self._size, self._digest = 0, hashlib.sha256()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._finished = False

    @property
    def size(self) -> int:
        return self._size

    @store_errors
    def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._max_bytes:
            raise BlobTooLarge(f"more than {self._max_bytes} bytes")
        self._digest.update(chunk)
        self._buffer += chunk
        while len(self._buffer) >= self._part_bytes:
            self._send_part(bytes(self._buffer[: self._part_bytes]))
            del self._buffer[: self._part_bytes]

    def _send_part(self, data: bytes) -> None:
        if self._upload_id is None:
            started = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._name)
            self._upload_id = str(started["UploadId"])
        number = len(self._parts) + 1
        sent = self._client.upload_part(
            Bucket=self._bucket,
            Key=self._name,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=data,
        )
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    @store_errors
    def commit(self) -> StoredBlob:
        """Make the object visible, whole; on any error the upload is aborted."""
        try:
            if self._upload_id is None:
                self._client.put_object(
                    Bucket=self._bucket, Key=self._name, Body=bytes(self._buffer)
                )
            else:
                if self._buffer:
                    self._send_part(bytes(self._buffer))
                self._client.complete_multipart_upload(
                    Bucket=self._bucket,
                    Key=self._name,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
        except BaseException:
            self.abort()
            raise
        self._finished = True
        self._buffer = bytearray()
        return StoredBlob(key=self._key, size=self._size, sha256=self._digest.hexdigest())

    def abort(self) -> None:
        """Drop what was sent: the store keeps no part of an aborted upload."""
        self._finished, self._buffer = True, bytearray()
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is None:
            return
        try:
            self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=self._name, UploadId=upload_id
            )
        except (BotoCoreError, ClientError) as exc:
            # The bucket's lifecycle rule for incomplete uploads removes what stays.
            log.warning("could not abort the upload of %s: %s", self._key, exc)

    def __enter__(self) -> S3BlobWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._finished:
            self.abort()


class S3BlobStore:
    """Blobs as objects `prefix/key` in one bucket."""

    def __init__(self, client: Any, location: S3Location, part_bytes: int) -> None:
        self.client, self.bucket, self.prefix = client, location.bucket, location.prefix
        self.part_bytes = part_bytes

    def name(self, key: str) -> str:
        """The object name of blob `key`."""
        path = check_key(key).as_posix()
        return f"{self.prefix}/{path}" if self.prefix else path

    def writer(self, key: str, max_bytes: int = UNLIMITED) -> S3BlobWriter:
        return S3BlobWriter(
            self.client, self.bucket, self.name(key), key, max_bytes, self.part_bytes
        )

    @store_errors
    def put_chunks(
        self, key: str, chunks: Iterable[bytes], max_bytes: int = UNLIMITED
    ) -> StoredBlob:
        with self.writer(key, max_bytes) as out:
            for chunk in chunks:
                out.write(chunk)
            return out.commit()

    @store_errors
    def put_file(self, key: str, source: Path) -> StoredBlob:
        size = source.stat().st_size
        with source.open("rb") as src, self.writer(key, max_bytes=size) as out:
            for chunk in iter(lambda: src.read(CHUNK_BYTES), b""):
                out.write(chunk)
            return out.commit()

    def adopt(self, key: str, source: Path) -> StoredBlob:
        blob = self.put_file(key, source)
        source.unlink(missing_ok=True)
        return blob

    @store_errors
    def open(self, key: str) -> BinaryIO:
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=self.name(key))
        except ClientError as exc:
            if is_not_found(exc):
                raise BlobNotFound(key) from None
            raise
        return cast(BinaryIO, found["Body"])

    @store_errors
    def size(self, key: str) -> int | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.name(key))
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise
        return int(head["ContentLength"])

    @store_errors
    def fetch(self, key: str, target: Path) -> None:
        with self.open(key) as body, target.open("wb") as out:
            for chunk in iter(lambda: body.read(CHUNK_BYTES), b""):
                out.write(chunk)

    @contextmanager
    def local_copy(self, key: str, max_bytes: int) -> Iterator[Path]:
        size = self.size(key)
        if size is None:
            raise BlobNotFound(key)
        if size > max_bytes:
            raise BlobTooLarge(f"{key} is {size} bytes, more than {max_bytes} to inspect")
        with tempfile.TemporaryDirectory(prefix="jobfarm-blob-") as temp:
            target = Path(temp) / check_key(key).name
            self.fetch(key, target)
            yield target

    def local_path(self, key: str) -> None:
        return None

    def presigned_url(self, key: str, ttl_s: int, filename: str) -> str:
        return str(
            self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self.name(key),
                    "ResponseContentDisposition": content_disposition(filename),
                },
                ExpiresIn=max(1, ttl_s),
            )
        )

    @store_errors
    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.name(key))

    @store_errors
    def delete_prefix(self, prefix: str) -> None:
        """Every object under `prefix/`, listed page by page and deleted in batches."""
        for names in self._pages_under(self.name(prefix) + "/"):
            self._delete_names(names)

    @store_errors
    def prefixes_under(self, prefix: str) -> list[str]:
        """The common prefixes one level under `prefix/`, as blob keys."""
        start = self.name(prefix) + "/"
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start, Delimiter="/"
        )
        names = [
            common["Prefix"].rstrip("/").rpartition("/")[2]
            for page in pages
            for common in page.get("CommonPrefixes", [])
        ]
        return sorted(f"{prefix}/{name}" for name in names)

    @store_errors
    def abort_stale_uploads(self, started_before: datetime) -> int:
        """Abort this store's multipart uploads begun before `started_before` (naive: UTC)."""
        if started_before.tzinfo is None:
            started_before = started_before.replace(tzinfo=UTC)
        stale = [
            upload
            for page in self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else ""
            )
            for upload in page.get("Uploads", [])
            if upload["Initiated"] < started_before
        ]
        for upload in stale:
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )
        return len(stale)

    def _pages_under(self, start: str) -> Iterator[list[str]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start, PaginationConfig={"PageSize": DELETE_BATCH}
        )
        for page in pages:
            names = [item["Key"] for item in page.get("Contents", [])]
            if names:
                yield names

    def _delete_names(self, names: list[str]) -> None:
        done = self.client.delete_objects(
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": name} for name in names], "Quiet": True},
        )
        failed = done.get("Errors") or []
        if failed:
            first = failed[0]
            raise OSError(
                f"{len(failed)} objects not deleted, first {first.get('Key')}: {first.get('Code')}"
            )
