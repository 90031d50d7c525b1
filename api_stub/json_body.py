"""JSON bodies sent as form data (`curl -d '{...}'`) are read as the JSON they are."""

from __future__ import annotations

from collections import deque

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE = b"content-type"
FORM = b"application/x-www-form-urlencoded"
JSON = b"application/json"
JSON_WHITESPACE = b" \t\r\n"
# A body whose first this many bytes are all whitespace is passed on unexamined.
PEEK_LIMIT_BYTES = 4096


class JsonBodyMiddleware:
    """Relabels a request as `application/json` when it says it is form data (or says
    nothing) but its body starts with `{` or `[`: no route here takes form data, and
    `curl -d` labels every body as a form. Reads only the chunks needed to see the
    first non-whitespace byte and replays them to the app; other requests pass untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _may_be_mislabelled_json(scope["headers"]):
            await self.app(scope, receive, send)
            return
        peeked, is_json = await _peek_first_byte(receive)
        if is_json:
            scope = {**scope, "headers": _labelled_json(scope["headers"])}
        await self.app(scope, _replaying(peeked, receive), send)


def _may_be_mislabelled_json(headers: list[tuple[bytes, bytes]]) -> bool:
    """A body is announced, and labelled as a form or not labelled at all."""
    named = dict(headers)
    has_body = named.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in named
    media_type = (named.get(CONTENT_TYPE) or FORM).split(b";")[0].strip().lower()
    return has_body and media_type == FORM


async def _peek_first_byte(receive: Receive) -> tuple[list[Message], bool]:
    """The messages read, and whether the body's first non-whitespace byte opens JSON."""
    messages: list[Message] = []
    seen = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, False
        body = message.get("body", b"")
        start = body.lstrip(JSON_WHITESPACE)[:1]
        if start:
            return messages, start in (b"{", b"[")
        seen += len(body)
        if not message.get("more_body", False) or seen >= PEEK_LIMIT_BYTES:
            return messages, False


def _labelled_json(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [*((k, v) for k, v in headers if k.lower() != CONTENT_TYPE), (CONTENT_TYPE, JSON)]


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that hands back the peeked messages first, then reads on."""
    pending = deque(messages)

    async def replay() -> Message:
        return pending.popleft() if pending else await receive()

    return replay
