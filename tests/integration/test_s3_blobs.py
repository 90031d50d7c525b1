"""The S3 blob store against a real S3 server (SeaweedFS): streamed multipart uploads,
aborts that leave nothing, size limits, reads, prefix deletes, presigned URLs."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from config.settings import Settings
from storage.blobs import BlobNotFound, BlobStoreUnavailable, BlobTooLarge
from storage.s3blobs import S3BlobStore, s3_blob_store
from tests.blob_checks import check_prefixes_under
from tests.farm import free_port
from tests.s3 import SeaweedS3

MIB = 1024 * 1024
PART = 5 * MIB


@pytest.fixture
def bucket(s3_server: SeaweedS3) -> str:
    return s3_server.new_bucket()


@pytest.fixture
def store(s3_server: SeaweedS3, bucket: str) -> S3BlobStore:
    return s3_blob_store(Settings(**s3_server.settings(bucket), blob_s3_part_bytes=PART))


def chunks(total: int, size: int = MIB) -> Iterator[bytes]:
    """`total` bytes, `size` at a time, each chunk different."""
    for start in range(0, total, size):
        yield bytes([start // size % 251]) * min(size, total - start)


def test_a_blob_of_several_parts_is_invisible_until_committed_then_whole(
    store: S3BlobStore, s3_server: SeaweedS3, bucket: str
) -> None:
    total = 2 * PART + 3 * MIB
    digest = hashlib.sha256()
    with store.writer("uploads/t/big.bin") as out:
        for chunk in chunks(total):
            out.write(chunk)
            digest.update(chunk)
        assert s3_server.uploads_in_progress(bucket) == ["blobs/uploads/t/big.bin"]
        assert store.size("uploads/t/big.bin") is None
        blob = out.commit()

    assert (blob.size, blob.sha256) == (total, digest.hexdigest())
    assert store.size("uploads/t/big.bin") == total
    with store.open("uploads/t/big.bin") as body:
        assert hashlib.sha256(body.read()).hexdigest() == blob.sha256
    assert s3_server.uploads_in_progress(bucket) == []


def test_a_writer_left_without_commit_leaves_no_object_and_no_upload(
    store: S3BlobStore, s3_server: SeaweedS3, bucket: str
) -> None:
    with pytest.raises(ConnectionResetError), store.writer("uploads/t/cut.bin") as out:
        for chunk in chunks(PART + MIB):
            out.write(chunk)
        assert s3_server.uploads_in_progress(bucket) == ["blobs/uploads/t/cut.bin"]
        raise ConnectionResetError("the client went away")

    assert s3_server.names(bucket) == []
    assert s3_server.uploads_in_progress(bucket) == []


def test_past_its_limit_an_upload_is_refused_and_aborted(
    store: S3BlobStore, s3_server: SeaweedS3, bucket: str
) -> None:
    with pytest.raises(BlobTooLarge):
        store.put_chunks("uploads/t/over.bin", chunks(2 * PART), max_bytes=PART + MIB)

    assert s3_server.names(bucket) == []
    assert s3_server.uploads_in_progress(bucket) == []


def test_a_blob_under_one_part_is_stored_by_one_put(
    store: S3BlobStore, s3_server: SeaweedS3, bucket: str
) -> None:
    blob = store.put_chunks("uploads/t/small.txt", [b"hello ", b"world"], max_bytes=11)

    assert blob.size == 11
    assert s3_server.names(bucket) == ["blobs/uploads/t/small.txt"]
    with store.open("uploads/t/small.txt") as body:
        assert body.read() == b"hello world"


def test_adopt_uploads_the_file_and_removes_it(store: S3BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "out.glb"
    source.write_bytes(b"g" * (PART + 17))

    blob = store.adopt("jobs/run/out.glb", source)

    assert not source.exists()
    assert blob.sha256 == hashlib.sha256(b"g" * (PART + 17)).hexdigest()
    assert store.size("jobs/run/out.glb") == PART + 17


def test_fetch_streams_the_blob_to_a_file(store: S3BlobStore, tmp_path: Path) -> None:
    store.put_chunks("uploads/t/in.step", chunks(3 * MIB))

    store.fetch("uploads/t/in.step", tmp_path / "in.step")

    assert (tmp_path / "in.step").read_bytes() == b"".join(chunks(3 * MIB))


def test_a_local_copy_is_bounded_and_removed_after_use(store: S3BlobStore) -> None:
    store.put_chunks("uploads/t/model.stl", [b"solid x\nendsolid x\n"])

    with store.local_copy("uploads/t/model.stl", max_bytes=100) as path:
        assert path.read_bytes() == b"solid x\nendsolid x\n"
    assert not path.exists()
    with pytest.raises(BlobTooLarge), store.local_copy("uploads/t/model.stl", max_bytes=10):
        pass


def test_a_missing_blob_is_not_found(store: S3BlobStore, tmp_path: Path) -> None:
    assert store.size("uploads/t/none") is None
    with pytest.raises(BlobNotFound):
        store.open("uploads/t/none")
    with pytest.raises(BlobNotFound):
        store.fetch("uploads/t/none", tmp_path / "none")


def test_delete_prefix_removes_every_object_under_it_and_no_other(
    store: S3BlobStore, s3_server: SeaweedS3, bucket: str
) -> None:
    # More than one page of the listing (1,000 names) and of a delete call.
    for n in range(1005):
        store.put_chunks(f"jobs/a/{n}.png", [b"x"])
    store.put_chunks("jobs/ab/keep.png", [b"y"])
    store.put_chunks("jobs/b/keep.png", [b"z"])

    store.delete_prefix("jobs/a")

    assert s3_server.names(bucket) == ["blobs/jobs/ab/keep.png", "blobs/jobs/b/keep.png"]


def test_the_prefixes_under_one_are_listed_one_level_down(store: S3BlobStore) -> None:
    check_prefixes_under(store)


def test_delete_removes_one_blob(store: S3BlobStore) -> None:
    store.put_chunks("uploads/t/a", [b"a"])
    store.delete("uploads/t/a")
    store.delete("uploads/t/a")  # deleting what is gone is no error

    assert store.size("uploads/t/a") is None


def test_a_presigned_url_downloads_the_blob_over_plain_http_under_its_name(
    store: S3BlobStore,
) -> None:
    store.put_chunks("jobs/run/résumé.pdf", chunks(2 * MIB))

    url = store.presigned_url("jobs/run/résumé.pdf", 60, "résumé.pdf")
    got = requests.get(url, timeout=30)
    tampered = requests.get(url.replace("X-Amz-Expires=60", "X-Amz-Expires=6000"), timeout=30)

    assert url.startswith("http://127.0.0.1:")
    assert got.status_code == 200 and got.content == b"".join(chunks(2 * MIB))
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9.pdf" in got.headers["Content-Disposition"]
    assert tampered.status_code == 403


def test_wrong_credentials_are_refused_as_unavailable(s3_server: SeaweedS3, bucket: str) -> None:
    settings = {**s3_server.settings(bucket), "blob_s3_secret_access_key": "not-the-secret"}
    store = s3_blob_store(Settings(**settings))

    with pytest.raises(BlobStoreUnavailable, match="refused size: 403") as caught:
        store.size("uploads/t/a")
    assert "not-the-secret" not in str(caught.value)


def test_an_unreachable_store_fails_within_its_timeouts(bucket: str) -> None:
    settings = Settings(
        blob_url=f"s3://{bucket}/blobs",
        blob_s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
        blob_s3_access_key_id="k",
        blob_s3_secret_access_key="s",
        blob_s3_connect_timeout_s=1,
        blob_s3_read_timeout_s=1,
        blob_s3_max_attempts=2,
    )
    started = time.monotonic()

    with pytest.raises(BlobStoreUnavailable, match="could not be reached"):
        s3_blob_store(settings).size("uploads/t/a")
    assert time.monotonic() - started < 10


def test_uploads_left_unfinished_before_the_cutoff_are_aborted(
    store: S3BlobStore, s3_server: SeaweedS3, bucket: str
) -> None:
    # A writer neither committed nor aborted: what a process killed mid-upload leaves.
    left = store.writer("uploads/t/left.bin")
    for chunk in chunks(PART):
        left.write(chunk)
    assert s3_server.uploads_in_progress(bucket) == ["blobs/uploads/t/left.bin"]

    kept = store.abort_stale_uploads(datetime.now(UTC) - timedelta(hours=1))
    aborted = store.abort_stale_uploads(datetime.now(UTC) + timedelta(minutes=1))

    assert (kept, aborted) == (0, 1)
    assert s3_server.uploads_in_progress(bucket) == []
    assert s3_server.names(bucket) == []
