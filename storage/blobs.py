"""The blob store: one small protocol and a local-directory implementation with atomic
writes. `storage.blob_stores.blob_store(settings)` is the one way to get the farm's."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import BinaryIO, Protocol
from urllib.parse import quote

CHUNK_BYTES = 1024 * 1024
UNLIMITED = 1 << 62


# Where jobs' outputs go: `jobs/{job id}/{run token}/{name}`.
JOBS_PREFIX = "jobs"


class BlobTooLarge(Exception):
    """The blob is larger than allowed."""


class BadBlobKey(ValueError):
    """Blob keys are relative POSIX paths without '..'."""


class BlobNotFound(LookupError):
    """No blob has this key (never stored, expired or purged)."""


class BlobStoreUnavailable(OSError):
    """The blob store could not be reached or refused the call; trying later may work."""


class BlobStoreFull(BlobStoreUnavailable):
    """The store's disk has no room left: the write was undone, and once space is freed
    (the retention purge, an operator) the same write succeeds."""


NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


@contextmanager
def room_needed(key: str) -> Iterator[None]:
    """Raise a full disk met while writing blob `key` as `BlobStoreFull`."""
    try:
        yield
    except BlobStoreUnavailable:
        raise
    except OSError as exc:
        if exc.errno in NO_SPACE:
            raise BlobStoreFull(exc.errno, f"no space left to store {key}") from exc
        raise


@dataclass(frozen=True)
class StoredBlob:
    key: str
    size: int
    sha256: str


class BlobWriter(Protocol):
    """One blob being written. Until `commit` returns, nobody sees it; a writer left
    without `commit` (used as a context manager) aborts, leaving no trace."""

    @property
    def size(self) -> int: ...
    def write(self, chunk: bytes) -> None:
        """Add `chunk`; `BlobTooLarge` past the writer's limit."""
        ...

    def commit(self) -> StoredBlob: ...
    def abort(self) -> None: ...
    def __enter__(self) -> BlobWriter: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class BlobStore(Protocol):
    """Where uploads and job outputs live, by key. Every method may block on I/O."""

    def writer(self, key: str, max_bytes: int = UNLIMITED) -> BlobWriter: ...
    def put_chunks(
        self, key: str, chunks: Iterable[bytes], max_bytes: int = UNLIMITED
    ) -> StoredBlob: ...
    def put_file(self, key: str, source: Path) -> StoredBlob: ...
    def adopt(self, key: str, source: Path) -> StoredBlob:
        """Make the finished file `source` blob `key`; `source` may be moved or removed."""
        ...

    def open(self, key: str) -> BinaryIO:
        """The blob's bytes, streamed; `BlobNotFound` if there is none."""
        ...

    def size(self, key: str) -> int | None:
        """The blob's size in bytes, or None if there is none."""
        ...

    def fetch(self, key: str, target: Path) -> None:
        """The blob as the local file `target` (streamed); `BlobNotFound` if none."""
        ...

    def local_copy(self, key: str, max_bytes: int) -> AbstractContextManager[Path]:
        """A local file holding the blob, for the `with` block: the blob's own file when
        the store is a directory, else a temp copy, `BlobTooLarge` past `max_bytes`."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The blob's own file when the store is a local directory, else None."""
        ...

    def presigned_url(self, key: str, ttl_s: int, filename: str) -> str | None:
        """A URL of the store itself that downloads the blob as `filename` for `ttl_s`
        seconds, or None when the store has no such URLs (a local directory)."""
        ...

    def delete(self, key: str) -> None: ...
    def delete_prefix(self, prefix: str) -> None:
        """Delete every blob under `prefix/`."""
        ...

    def prefixes_under(self, prefix: str) -> list[str]:
        """The prefixes one level under `prefix/` holding blobs (e.g. each run's under
        its job's), sorted."""
        ...

    def abort_stale_uploads(self, started_before: datetime) -> int:
        """Abort writes begun before `started_before` and never finished (their process
        died); how many. They were never visible: this only frees their space."""
        ...


def content_disposition(filename: str) -> str:
    """An attachment header naming `filename`, with an ASCII fallback (RFC 6266)."""
    fallback = filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def check_key(key: str) -> PurePosixPath:
    path = PurePosixPath(key)
    if not key or path.is_absolute() or ".." in path.parts or "\\" in key or "\x00" in key:
        raise BadBlobKey(key)
    return path


class LocalBlobWriter:
    """Writes one blob through a temp file; `commit` renames it into place.

    Used as a context manager, a writer left without `commit` (an error, a size
    over the limit) removes its temp file: no half-written blob is ever visible.
    """

    def __init__(self, target: Path, key: str, max_bytes: int) -> None:
        with room_needed(key):
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        self._out = os.fdopen(fd, "wb")
        self._temp, self._target, self._key = Path(temp), target, key
        self._max_bytes, self._size, self._digest = max_bytes, 0, hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._max_bytes:
            raise BlobTooLarge(f"more than {self._max_bytes} bytes")
        self._digest.update(chunk)
        with room_needed(self._key):
            self._out.write(chunk)

    @property
    def size(self) -> int:
        return self._size

    def commit(self) -> StoredBlob:
        with room_needed(self._key):
            self._out.flush()
            os.fsync(self._out.fileno())
            self._out.close()
            os.replace(self._temp, self._target)
        return StoredBlob(key=self._key, size=self._size, sha256=self._digest.hexdigest())

    def abort(self) -> None:
        # Closing flushes what is buffered, which a full disk refuses: it is discarded.
        with contextlib.suppress(OSError):
            self._out.close()
        self._temp.unlink(missing_ok=True)

    def __enter__(self) -> LocalBlobWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._out.closed or self._temp.exists():
            self.abort()


class LocalBlobStore:
    """Blobs as files under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).parts)

    def writer(self, key: str, max_bytes: int = UNLIMITED) -> LocalBlobWriter:
        return LocalBlobWriter(self.path(key), key, max_bytes)

    def put_chunks(
        self, key: str, chunks: Iterable[bytes], max_bytes: int = UNLIMITED
    ) -> StoredBlob:
        with self.writer(key, max_bytes) as out:
            for chunk in chunks:
                out.write(chunk)
            return out.commit()

    def put_file(self, key: str, source: Path) -> StoredBlob:
        with source.open("rb") as src:
            return self.put_chunks(key, iter(lambda: src.read(CHUNK_BYTES), b""))

    def adopt(self, key: str, source: Path) -> StoredBlob:
        """Make the finished file `source` blob `key` by moving it, not copying it.

        The file is flushed to disk before the rename, so the blob appears whole
        or not at all; across filesystems this falls back to a copy.
        """
        # The rename alone keeps the blob whole for other processes, even if this one
        # dies. The flush is for an OS crash or power loss, when the disk may keep the
        # rename but not the data (allocated late), and the job's commit that follows
        # would point at an empty file: this per-job fsync buys integrity, so it stays.
        target = self.path(key)
        digest, size = hashlib.sha256(), 0
        with source.open("rb") as src:
            for chunk in iter(lambda: src.read(CHUNK_BYTES), b""):
                digest.update(chunk)
                size += len(chunk)
            os.fsync(src.fileno())
        with room_needed(key):
            target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)
        except OSError:
            return self.put_file(key, source)
        return StoredBlob(key=key, size=size, sha256=digest.hexdigest())

    def open(self, key: str) -> BinaryIO:
        try:
            return self.path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise BlobNotFound(key) from None

    def size(self, key: str) -> int | None:
        path = self.path(key)
        return path.stat().st_size if path.is_file() else None

    def fetch(self, key: str, target: Path) -> None:
        """A hard link when on one filesystem (no bytes copied), else a copy."""
        source = self.path(key)
        if not source.is_file():
            raise BlobNotFound(key)
        try:
            target.hardlink_to(source)
        except OSError:
            shutil.copyfile(source, target)

    @contextmanager
    def local_copy(self, key: str, max_bytes: int) -> Iterator[Path]:
        # The blob's own file: nothing to copy, so no bound to keep.
        yield self.path(key)

    def local_path(self, key: str) -> Path:
        return self.path(key)

    def presigned_url(self, key: str, ttl_s: int, filename: str) -> None:
        return None

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        path = self.path(prefix)
        shutil.rmtree(path, ignore_errors=True)
        # A job's directory goes with its last run's (a directory that holds others stays).
        if path.parent != self.root:
            with contextlib.suppress(OSError):
                path.parent.rmdir()

    def prefixes_under(self, prefix: str) -> list[str]:
        try:
            found = [entry.name for entry in os.scandir(self.path(prefix)) if entry.is_dir()]
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(f"{prefix}/{name}" for name in found)

    def abort_stale_uploads(self, started_before: datetime) -> int:
        # A dead process's temp file stays beside its blob's siblings; walking the
        # whole tree hourly to find it costs more than the space it holds.
        return 0
