"""The SSRF guard on real sockets: the address dialled, and every redirect hop."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from tasks.content import ChatCompletionsModel
from tasks.errors import ModelUnavailable
from tests.farm import wait_until
from tests.trickler import TrickleServer
from workers.http_guard import DeadlineExceeded, ForbiddenAddress, client_session


@pytest.fixture
def redirecting_server() -> Iterator[tuple[str, list[str]]]:
    """Serves on 127.0.0.1: /ok answers 200, /hop redirects to 127.0.0.2."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(f"{self.headers['host']}{self.path}")
            if self.path == "/hop":
                self.send_response(302)
                self.send_header("location", f"http://127.0.0.2:{port}/ok")
            else:
                self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("0.0.0.0", 0), Handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}", hits
    server.shutdown()
    server.server_close()


def test_guard_refuses_loopback_before_sending_anything(redirecting_server) -> None:
    base, hits = redirecting_server
    with pytest.raises(ForbiddenAddress), client_session(guard=True) as http:
        http.get(base + "/ok", timeout=5)
    assert hits == []


def test_guard_checks_every_redirect_hop(redirecting_server) -> None:
    base, hits = redirecting_server
    only_first_host = {"127.0.0.1"}.__contains__
    with client_session(guard=True, allowed=only_first_host) as http:
        assert http.get(base + "/ok", timeout=5).status_code == 200
        with pytest.raises(ForbiddenAddress, match=r"127\.0\.0\.2"):
            http.get(base + "/hop", timeout=5)
    assert [h.split(":")[0] for h in hits] == ["127.0.0.1", "127.0.0.1"]


def test_without_the_guard_local_addresses_are_reached(redirecting_server) -> None:
    base, hits = redirecting_server
    with client_session(guard=False) as http:
        assert http.get(base + "/hop", timeout=5).status_code == 200
    assert len(hits) == 2


@pytest.fixture
def trickling_head() -> Iterator[str]:
    """Answers with its status line and headers a byte every 0.3 s."""
    server = socket.create_server(("127.0.0.1", 0))

    def answer(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n":
                conn.sendall(bytes([byte]))
                time.sleep(0.3)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                threading.Thread(target=answer, args=(server.accept()[0],), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/"
    server.close()


@pytest.mark.parametrize("stream", [False, True])
def test_trickled_headers_end_at_the_total_deadline(trickling_head: str, stream: bool) -> None:
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded), client_session(guard=False) as http:
        http.get(trickling_head, timeout=(1, 2), stream=stream)
    assert 1.9 <= time.monotonic() - started <= 2.5


@pytest.mark.parametrize("stream", [False, True])
def test_a_trickled_body_ends_at_the_total_deadline(stream: bool) -> None:
    with TrickleServer(every_s=0.3) as server, client_session(guard=False) as http:
        started = time.monotonic()
        with pytest.raises(requests.RequestException):
            response = http.get(server.url, timeout=(1, 2), stream=stream)
            with response:
                for _ in response.iter_content(1024):
                    pass
        took = time.monotonic() - started
        wait_until(server.ended, 5, "the server to see the client leave")
    assert 1.9 <= took <= 2.5


def test_a_trickling_content_model_is_unavailable_at_its_timeout() -> None:
    with TrickleServer(every_s=0.3) as server, client_session(guard=False) as http:
        model = ChatCompletionsModel(
            api_base=server.url.rsplit("/", 1)[0], api_key="k", model_name="m", timeout_s=2
        )
        started = time.monotonic()
        with pytest.raises(ModelUnavailable, match="DeadlineExceeded"):
            replace(model, session=http).slides("topic", ["a point"])
        took = time.monotonic() - started
    assert 1.9 <= took <= 2.5
