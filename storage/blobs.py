"""The blob store: a small protocol and a local-disk implementation with atomic writes."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import BinaryIO, Protocol

CHUNK_BYTES = 1024 * 1024
UNLIMITED = 1 << 62


class BlobTooLarge(Exception):
    """The blob is larger than allowed."""


class BadBlobKey(ValueError):
    """Blob keys are relative POSIX paths without '..'."""


@dataclass(frozen=True)
class StoredBlob:
    key: str
    size: int
    sha256: str


class BlobStore(Protocol):
    def writer(self, key: str, max_bytes: int = UNLIMITED) -> BlobWriter: ...
    def put_file(self, key: str, source: Path) -> StoredBlob: ...
    def adopt(self, key: str, source: Path) -> StoredBlob: ...
    def open(self, key: str) -> BinaryIO: ...
    def delete(self, key: str) -> None: ...


def check_key(key: str) -> PurePosixPath:
    path = PurePosixPath(key)
    if not key or path.is_absolute() or ".." in path.parts or "\\" in key or "\x00" in key:
        raise BadBlobKey(key)
    return path


class BlobWriter:
    """Writes one blob through a temp file; `commit` renames it into place.

    Used as a context manager, a writer left without `commit` (an error, a size
    over the limit) removes its temp file: no half-written blob is ever visible.
    """

    def __init__(self, target: Path, key: str, max_bytes: int) -> None:
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
        self._out.write(chunk)

    @property
    def size(self) -> int:
        return self._size

    def commit(self) -> StoredBlob:
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()
        os.replace(self._temp, self._target)
        return StoredBlob(key=self._key, size=self._size, sha256=self._digest.hexdigest())

    def abort(self) -> None:
        self._out.close()
        self._temp.unlink(missing_ok=True)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._out.closed:
            self.abort()


class LocalBlobStore:
    """Blobs as files under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).parts)

    def writer(self, key: str, max_bytes: int = UNLIMITED) -> BlobWriter:
        return BlobWriter(self.path(key), key, max_bytes)

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
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)
        except OSError:
            return self.put_file(key, source)
        return StoredBlob(key=key, size=size, sha256=digest.hexdigest())

    def open(self, key: str) -> BinaryIO:
        return self.path(key).open("rb")

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self.path(prefix), ignore_errors=True)
