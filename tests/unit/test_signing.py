"""The seed 004 signature: string to sign, hex and base64 forms, timestamp window, IPs."""

import base64

import pytest

from api_stub import signing
from api_stub.dialect import Call
from api_stub.native.dialect import signed_class

# The seed's local development credentials, and a vector computed with
# `printf %s "$MESSAGE" | openssl dgst -sha256 -hmac "$APP_SECRET"`.
DEV_SECRET = "dev_secret_local_do_not_use_in_production"
BODY = b'{"kind":"noop","params":{}}'
TIMESTAMP = "1767225600000"
HEX = "896af7905d8f2a7efdff4ee31fa2a618a534691bf20a6aa802115dfc4e178ac4"
BASE64 = "iWr3kF2PKn79/07jH6KmGKU0aRvyCmqoAhFd/E4XisQ="


def message() -> bytes:
    return signing.string_to_sign("post", "/v1/jobs", TIMESTAMP, BODY)


def test_the_string_to_sign_is_method_path_timestamp_body_without_separators() -> None:
    assert message() == b"POST/v1/jobs1767225600000" + BODY


def test_sign_gives_what_openssl_prints() -> None:
    assert signing.sign(DEV_SECRET, "POST", "/v1/jobs", TIMESTAMP, BODY) == HEX


@pytest.mark.parametrize(
    "form",
    [
        HEX,
        HEX.upper(),
        BASE64,
        BASE64.rstrip("="),
        base64.urlsafe_b64encode(bytes.fromhex(HEX)).decode(),
    ],
)
def test_hex_and_base64_forms_are_accepted(form: str) -> None:
    assert signing.matches(DEV_SECRET, message(), form)


@pytest.mark.parametrize("form", ["", "nothex", HEX[:-2], HEX[:-1] + "5", "x" * 64])
def test_other_signatures_are_refused(form: str) -> None:
    assert not signing.matches(DEV_SECRET, message(), form)


def test_a_changed_body_or_secret_is_refused() -> None:
    changed = signing.string_to_sign("POST", "/v1/jobs", TIMESTAMP, BODY + b" ")
    assert not signing.matches(DEV_SECRET, changed, HEX)
    assert not signing.matches("another secret", message(), HEX)


def test_timestamps_within_the_window_pass_and_others_name_why() -> None:
    now = 1767225600000
    assert signing.timestamp_fault(str(now - 299_000), now, 300) is None
    assert signing.timestamp_fault(str(now + 299_000), now, 300) is None
    assert "301 s" in (signing.timestamp_fault(str(now - 301_000), now, 300) or "")
    assert "milliseconds" in (signing.timestamp_fault("12.5", now, 300) or "")


def test_ip_allowlist_takes_addresses_and_networks() -> None:
    assert signing.ip_allowed("10.1.2.3", ())
    assert signing.ip_allowed("10.1.2.3", ("10.1.0.0/16",))
    assert signing.ip_allowed("127.0.0.1", ("127.0.0.1",))
    assert not signing.ip_allowed("127.0.0.1", ("10.0.0.1",))
    assert not signing.ip_allowed("unknown", ("10.0.0.1",))


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("GET", "/v1/jobs", "query"),
        ("GET", "/v1/jobs/job_1", "query"),
        ("POST", "/v1/jobs", "create"),
        ("POST", "/v1/files", "create"),
        ("POST", "/v1/jobs/job_1/cancel", "update"),
        ("DELETE", "/v1/jobs/job_1", "update"),
        ("PUT", "/v1/jobs/job_1", "update"),
    ],
)
def test_calls_fall_in_the_seeds_qps_classes(method: str, path: str, kind: str) -> None:
    call = Call(method=method, path=path, client_ip="127.0.0.1", headers={})
    assert signed_class(call) == kind
