"""A webhook receiver that comes and goes: the chaos driver takes it down (connections
refused) or has it answer 503 for a while. What it accepted is kept across its lives,
each request with the tenant whose secret verified it (`standardwebhooks`, at receipt:
a signature's timestamp is only good for minutes)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.receiver import Received


class FlappingReceiver:
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self.received: list[Received] = []
        self.signed_by: list[str | None] = []  # per request: the tenant that signed it
        self.secrets: dict[str, str] = {}  # tenant id → webhook secret
        self.failing = False
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                code = 503 if receiver.failing else 200
                headers = {k.lower(): v for k, v in self.headers.items()}
                signer = receiver.signer(body, headers)
                with receiver._lock:
                    receiver.received.append(Received(self.path, headers, body, code))
                    receiver.signed_by.append(signer)
                self.send_response(code)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def signer(self, body: bytes, headers: dict[str, str]) -> str | None:
        for tenant_id, secret in self.secrets.items():
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            return tenant_id
        return None

    def successes(self) -> list[tuple[Received, str | None]]:
        """What it answered 2xx, each with the tenant that signed it (None: nobody)."""
        with self._lock:
            pairs = zip(self.received, self.signed_by, strict=True)
            return [(r, tenant) for r, tenant in pairs if 200 <= r.answered < 300]
