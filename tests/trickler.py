"""A local HTTP server that answers 200 at once and then trickles its body, one byte
every `every_s`, for as long as the client stays: a receiver or download that never
quite finishes. It records when each connection opened and when the client left."""

from __future__ import annotations

import select
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANNOUNCED_BYTES = 100_000


@dataclass
class Visit:
    """One request: monotonic times it arrived and the client went away (None: still there)."""

    opened: float
    closed: float | None = None


class TrickleServer:
    """Answers every GET and POST with 200 and `ANNOUNCED_BYTES` promised, sent a byte
    every `every_s` until the client closes (or the server stops)."""

    def __init__(self, every_s: float = 1.0) -> None:
        self.every_s = every_s
        self.visits: list[Visit] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner._trickle(self)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                owner._trickle(self)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/slow.bin"

    def _trickle(self, handler: BaseHTTPRequestHandler) -> None:
        visit = Visit(time.monotonic())
        with self._lock:
            self.visits.append(visit)
        handler.send_response(200)
        handler.send_header("content-length", str(ANNOUNCED_BYTES))
        handler.end_headers()
        handler.wfile.flush()
        conn = handler.connection
        try:
            while not self._stop.is_set():
                # Readable with nothing to read: the client has gone.
                readable, _, _ = select.select([conn], [], [], self.every_s)
                if readable and not conn.recv(1024):
                    break
                conn.sendall(b"x")
        except OSError:
            pass
        visit.closed = time.monotonic()

    def open_now(self) -> int:
        with self._lock:
            return sum(1 for v in self.visits if v.closed is None)

    def ended(self) -> list[Visit]:
        with self._lock:
            return [v for v in self.visits if v.closed is not None]

    def __enter__(self) -> TrickleServer:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
