"""JsonBodyMiddleware: JSON sent as a form is read as JSON; everything else passes untouched."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.types import Message, Receive, Scope, Send

from api_stub.json_body import PEEK_LIMIT_BYTES, JsonBodyMiddleware

FORM = "application/x-www-form-urlencoded"


class Greeting(BaseModel):
    hello: str


def tiny_app() -> FastAPI:
    app = FastAPI()

    @app.post("/greeting")
    def greeting(body: Greeting) -> dict[str, str]:
        return {"hello": body.hello}

    @app.post("/raw")
    async def raw(request: Request) -> dict[str, Any]:
        body = await request.body()
        return {"content_type": request.headers.get("content-type"), "size": len(body)}

    app.add_middleware(JsonBodyMiddleware)
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(tiny_app()) as test_client:
        yield test_client


def test_a_json_object_sent_as_a_form_reaches_a_json_route(client: TestClient) -> None:
    response = client.post(
        "/greeting", content=b'{"hello": "world"}', headers={"content-type": FORM}
    )

    assert response.status_code == 200
    assert response.json() == {"hello": "world"}


def test_leading_whitespace_and_a_charset_do_not_hide_json(client: TestClient) -> None:
    body = b"\n  [1, 2]"
    response = client.post("/raw", content=body, headers={"content-type": FORM + "; charset=utf-8"})

    assert response.json() == {"content_type": "application/json", "size": len(body)}


def test_a_json_body_without_a_content_type_is_labelled_json(client: TestClient) -> None:
    response = client.post("/raw", content=b'{"a": 1}')

    assert response.json()["content_type"] == "application/json"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (FORM, b"hello=world"),
        ("application/octet-stream", b'{"looks": "like json"}'),
        ("text/plain", b"[not relabelled]"),
    ],
)
def test_other_bodies_keep_their_content_type(
    client: TestClient, content_type: str, body: bytes
) -> None:
    response = client.post("/raw", content=body, headers={"content-type": content_type})

    assert response.json() == {"content_type": content_type, "size": len(body)}


async def _run(
    messages: list[Message], headers: list[tuple[bytes, bytes]]
) -> tuple[Scope, bytes, int]:
    """Drive the middleware by hand: the scope the app saw, the body it read, and how
    many messages the middleware had taken before the app's first read."""
    sent = list(messages)
    taken_before_app: list[int] = []
    seen: dict[str, Any] = {}

    async def receive() -> Message:
        return sent.pop(0)

    async def app(scope: Scope, app_receive: Receive, send: Send) -> None:
        taken_before_app.append(len(messages) - len(sent))
        body = b""
        while True:
            message = await app_receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.update(scope=scope, body=body)

    async def send(message: Message) -> None:
        raise AssertionError("nothing is sent")

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    await JsonBodyMiddleware(app)(scope, receive, send)
    return seen["scope"], seen["body"], taken_before_app[0]


def _chunks(*parts: bytes) -> list[Message]:
    last = len(parts) - 1
    return [
        {"type": "http.request", "body": part, "more_body": i < last}
        for i, part in enumerate(parts)
    ]


CHUNKED = [(b"transfer-encoding", b"chunked")]


def test_only_the_chunks_before_the_first_byte_are_read_and_all_are_replayed() -> None:
    scope, body, taken = asyncio.run(_run(_chunks(b"  ", b"\n{", b'"a": 1', b"}"), CHUNKED))

    assert taken == 2
    assert body == b'  \n{"a": 1}'
    assert dict(scope["headers"])[b"content-type"] == b"application/json"


def test_a_body_of_whitespace_past_the_peek_limit_is_passed_on_unlabelled() -> None:
    padding = b" " * PEEK_LIMIT_BYTES
    scope, body, taken = asyncio.run(_run(_chunks(padding, b"{}", b""), CHUNKED))

    assert taken == 1
    assert body == padding + b"{}"
    assert b"content-type" not in dict(scope["headers"])


def test_a_request_without_a_body_is_not_read() -> None:
    _, body, taken = asyncio.run(_run(_chunks(b""), []))

    assert taken == 0
    assert body == b""
