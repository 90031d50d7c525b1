from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from config.settings import Settings
from storage.blob_stores import blob_store
from storage.blobs import (
    UNLIMITED,
    BadBlobKey,
    BlobNotFound,
    BlobStoreFull,
    BlobTooLarge,
    LocalBlobStore,
    content_disposition,
)
from storage.s3blobs import S3BlobStore, part_size_for
from storage.urls import sign_url, verify
from tests.blob_checks import check_prefixes_under

MIB = 1024 * 1024


def parts(url: str) -> tuple[str, int, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path.removeprefix("/v1/blobs/"), int(query["expires"][0]), query["signature"][0]


def test_signed_url_verifies_until_it_expires() -> None:
    key, expires, sig = parts(sign_url("http://h", "s3cret", "jobs/j/t/out.glb", 60, now=1000))
    assert expires == 1060
    assert verify("s3cret", key, expires, sig, now=1059)
    assert not verify("s3cret", key, expires, sig, now=1061)


@pytest.mark.parametrize("tamper", ["key", "expires", "secret"])
def test_signed_url_refuses_any_change(tamper: str) -> None:
    key, expires, sig = parts(sign_url("http://h", "s3cret", "jobs/j/t/out.glb", 60, now=1000))
    args = {"secret": "s3cret", "key": key, "expires": expires}
    args[tamper] = {"key": "jobs/j/t/other.glb", "expires": expires + 3600, "secret": "x"}[tamper]
    assert not verify(args["secret"], args["key"], args["expires"], sig, now=1000)


def test_blob_write_is_atomic_and_nothing_remains_past_the_limit(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(BlobTooLarge):
        store.put_chunks("a/b.bin", [b"x" * 10, b"y" * 10], max_bytes=15)
    assert not store.path("a/b.bin").exists()
    assert list((tmp_path / "a").iterdir()) == []

    blob = store.put_chunks("a/b.bin", [b"x" * 10, b"y" * 5], max_bytes=15)
    assert blob.size == 15 and store.path("a/b.bin").read_bytes() == b"x" * 10 + b"y" * 5


def test_an_error_mid_write_leaves_the_old_blob_whole(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put_chunks("k", [b"old"])

    def broken():  # type: ignore[no-untyped-def]
        yield b"new-part"
        raise OSError("disk went away")

    with pytest.raises(OSError):
        store.put_chunks("k", broken())
    assert store.path("k").read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["k"]


def test_a_full_disk_is_store_full_and_leaves_no_part_of_the_blob(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put_chunks("k", [b"old"])
    writer = store.writer("k")
    writer._out.close()
    # /dev/full refuses every write with ENOSPC, as a full disk does.
    writer._out = open("/dev/full", "wb")  # noqa: SIM115 - the writer closes it

    with pytest.raises(BlobStoreFull), writer:
        writer.write(b"new" * 1000)
        writer.commit()

    assert store.path("k").read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["k"]


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../up", "a/../../b", "a\\b"])
def test_bad_keys_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(BadBlobKey):
        LocalBlobStore(tmp_path).path(key)


def test_local_blobs_fetch_as_a_link_and_are_not_found_once_deleted(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put_chunks("uploads/t/a.stl", [b"solid"])
    (tmp_path / "run").mkdir()

    store.fetch("uploads/t/a.stl", tmp_path / "run" / "a.stl")
    store.delete("uploads/t/a.stl")

    assert (tmp_path / "run" / "a.stl").read_bytes() == b"solid"
    assert store.size("uploads/t/a.stl") is None
    with pytest.raises(BlobNotFound):
        store.open("uploads/t/a.stl")
    with pytest.raises(BlobNotFound):
        store.fetch("uploads/t/a.stl", tmp_path / "run" / "again.stl")


def test_local_blobs_have_no_presigned_urls_and_inspect_in_place(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put_chunks("k/a.png", [b"png"])

    with store.local_copy("k/a.png", max_bytes=1) as path:
        assert path == tmp_path / "k" / "a.png"
    assert store.presigned_url("k/a.png", 60, "a.png") is None


def test_the_default_store_is_the_var_dir_and_made_once(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)

    store = blob_store(settings)

    assert isinstance(store, LocalBlobStore) and store.root == tmp_path / "blobs"
    assert blob_store(Settings(var_dir=tmp_path)) is store


def test_an_s3_blob_url_makes_an_s3_store_whose_secret_stays_out_of_reprs() -> None:
    settings = Settings(
        blob_url="s3://farm-bucket/some/prefix/",
        blob_s3_endpoint_url="http://127.0.0.1:9",
        blob_s3_access_key_id="key-id",
        blob_s3_secret_access_key="very-secret-value",
    )

    store = blob_store(settings)

    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix) == ("farm-bucket", "some/prefix")
    assert store.name("jobs/t/out.glb") == "some/prefix/jobs/t/out.glb"
    assert "very-secret-value" not in repr(settings) + str(settings.model_dump())


@pytest.mark.parametrize("url", ["s3://", "file:///tmp/blobs", "/var/blobs", "gs://b/p"])
def test_a_blob_url_other_than_s3_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="JOBFARM_BLOB_URL"):
        Settings(blob_url=url)


@pytest.mark.parametrize(
    ("max_bytes", "part"),
    [(UNLIMITED, 8 * MIB), (4 * 1024 * MIB, 8 * MIB), (200 * 1024 * MIB, 21_474_837)],
)
def test_parts_grow_so_the_largest_upload_fits_in_10000(max_bytes: int, part: int) -> None:
    assert part_size_for(max_bytes, 8 * MIB) == part


def test_a_download_names_its_file_in_ascii_and_in_utf8() -> None:
    assert content_disposition('plan "v2".pdf') == (
        "attachment; filename=\"plan _v2_.pdf\"; filename*=UTF-8''plan%20%22v2%22.pdf"
    )
    assert 'filename="r_sum_.pdf"' in content_disposition("résumé.pdf")


def test_the_prefixes_under_one_are_listed_one_level_down(tmp_path: Path) -> None:
    check_prefixes_under(LocalBlobStore(tmp_path))
