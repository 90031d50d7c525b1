"""A local HTTP server that receives webhooks and answers with scripted status codes."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


class WebhookReceiver:
    """Records every POST; answers the codes in `script` in turn, then `then` forever.
    `port` 0 picks a free one; a fixed one lets a test bring a receiver up late. It listens
    on `host` (the multi-host tier's: its private subnet's address)."""

    def __init__(
        self,
        script: list[int] | None = None,
        then: int = 200,
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.script = list(script or [])
        self.then = then
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    code = receiver.script.pop(0) if receiver.script else receiver.then
                    receiver.received.append(
                        Received(
                            self.path, {k.lower(): v for k, v in self.headers.items()}, body, code
                        )
                    )
                self.send_response(code)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.host = host
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.server.server_address[1]}/hook"

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def successes(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if 200 <= r.answered < 300]
