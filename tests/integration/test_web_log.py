"""The web server's log, read as an operator reads it: requests carrying a token, an API
key or a URL signature leave none of them in it."""

from __future__ import annotations

import contextlib
from urllib.parse import parse_qs, urlsplit

import requests
from websockets.sync.client import connect

from tests.farm import Farm, wait_until


def smartmanu_token(farm: Farm, api_key: str) -> str:
    prefix, secret = api_key.rsplit("_", 1)
    answer = requests.post(
        f"{farm.base_url}/auth/token", json={"api_key": prefix, "secret": secret}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def open_progress(farm: Farm, query: str) -> None:
    """Open /ws/progress with `query`, whether it is accepted or refused."""
    url = f"ws://127.0.0.1:{farm.port}/ws/progress?{query}"
    with contextlib.suppress(Exception), connect(url, open_timeout=10, close_timeout=5) as socket:
        socket.recv(timeout=5)


def logged_with(farm: Farm, text: str) -> str | None:
    """The web log, once it has a line with `text`."""
    log = farm.log_path("web").read_text()
    return log if text in log else None


def test_the_web_log_holds_no_token_api_key_or_url_signature(farm: Farm, tenant) -> None:  # type: ignore[no-untyped-def]
    api_key = tenant.creds.api_key
    token = smartmanu_token(farm, api_key)
    open_progress(farm, f"order_id=DSG-2026-0&token={token}")
    open_progress(farm, "order_id=DSG-2026-0&token=smt_forged.forged")
    upload = tenant.api.post("/v1/files", params={"name": "note.txt"}, data=b"hello")
    signed = upload.json()["url"]
    assert requests.get(signed, timeout=10).status_code == 200
    assert tenant.api.get("/v1/jobs").status_code == 200  # the key as a bearer header
    assert tenant.api.get("/v1/jobs", params={"api_key": api_key}).status_code == 200
    signature = parse_qs(urlsplit(signed).query)["signature"][0]
    path = urlsplit(signed).path

    log = wait_until(lambda: logged_with(farm, path), 10, "the download to be logged")

    assert "token=[redacted]" in log and "signature=[redacted]" in log
    for secret in (token, "smt_forged.forged", api_key, api_key.rsplit("_", 1)[1], signature):
        assert secret not in log
