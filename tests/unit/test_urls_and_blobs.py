from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from storage.blobs import BadBlobKey, BlobTooLarge, LocalBlobStore
from storage.urls import sign_url, verify


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


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../up", "a/../../b", "a\\b"])
def test_bad_keys_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(BadBlobKey):
        LocalBlobStore(tmp_path).path(key)
