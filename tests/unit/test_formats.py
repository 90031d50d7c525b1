"""Format sniffing reads a bounded part of a file, whatever its size: the API runs it."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tasks.errors import InvalidInput, UnsupportedFormat
from tasks.formats import (
    MAX_ZIP_DIRECTORY_BYTES,
    SNIFF_BYTES,
    STL_HEADER_BYTES,
    STL_TRIANGLE_BYTES,
    ZIP_END_RECORD,
    ZIP_MAX_COMMENT_BYTES,
    CadFormat,
    detect_format,
)

GIB = 1024**3


class CountingFile:
    """A file that adds up the bytes read from it."""

    def __init__(self, file: Any, counter: list[int]) -> None:
        self._file, self._counter = file, counter

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self._counter.append(len(data))
        return bytes(data)

    def __enter__(self) -> CountingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


@contextmanager
def bytes_read(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The sizes of every read from files opened inside the block."""
    counter: list[int] = []
    real_open = io.open

    def counting_open(*args: Any, **kwargs: Any) -> Any:
        return CountingFile(real_open(*args, **kwargs), counter)

    with monkeypatch.context() as patch:
        patch.setattr(io, "open", counting_open)
        yield counter


def sparse(path: Path, head: bytes, size: int, tail: bytes = b"") -> Path:
    """A file of `size` bytes, `head` first and `tail` last, holes between."""
    with path.open("wb") as f:
        f.write(head)
        f.truncate(size - len(tail))
        f.seek(size - len(tail))
        f.write(tail)
    return path


def test_a_gigabyte_binary_stl_is_known_from_its_header_and_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    triangles = GIB // STL_TRIANGLE_BYTES
    size = STL_HEADER_BYTES + STL_TRIANGLE_BYTES * triangles
    header = b"binary".ljust(80, b" ") + triangles.to_bytes(4, "little")
    source = sparse(tmp_path / "big.bin", header, size)

    with bytes_read(monkeypatch) as reads:
        found = detect_format(source)

    assert found is CadFormat.STL
    assert sum(reads) <= SNIFF_BYTES


def test_a_gigabyte_text_file_is_sniffed_from_its_first_64_kib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = sparse(tmp_path / "big.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", GIB)

    with bytes_read(monkeypatch) as reads:
        found = detect_format(source)

    assert found is CadFormat.OBJ
    assert sum(reads) <= SNIFF_BYTES


def test_a_3mf_is_known_from_its_zip_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "part.bin"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("3D/3dmodel.model", "<model/>" * 20_000)

    with bytes_read(monkeypatch) as reads:
        found = detect_format(source)

    assert found is CadFormat.THREEMF
    tail = ZIP_END_RECORD.size + ZIP_MAX_COMMENT_BYTES
    assert sum(reads) <= SNIFF_BYTES + 2 * tail + MAX_ZIP_DIRECTORY_BYTES


def test_a_zip_listing_more_than_a_3mf_holds_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = 0xFFFE
    directory = MAX_ZIP_DIRECTORY_BYTES + 1
    end = ZIP_END_RECORD.pack(b"PK\x05\x06", 0, 0, entries, entries, directory, 0, 0)
    source = sparse(tmp_path / "many.zip", b"PK\x03\x04", GIB, tail=end)

    def no_listing(*args: object, **kwargs: object) -> None:
        raise AssertionError("the zip's directory was read")

    monkeypatch.setattr(zipfile, "ZipFile", no_listing)

    with pytest.raises(UnsupportedFormat, match="more files than a 3MF"):
        detect_format(source)


def test_a_zip_without_its_end_record_is_damaged(tmp_path: Path) -> None:
    source = sparse(tmp_path / "cut.zip", b"PK\x03\x04", 10 * 1024 * 1024)

    with pytest.raises(InvalidInput, match="damaged"):
        detect_format(source)
