"""Hostile clients on the real farm: one tenant's 50 uploads trickling a byte a second
and 50 design requests waiting for their jobs hold no connection, thread or slot that
another tenant needs. That tenant's calls answer promptly, and nothing answers 500."""

from __future__ import annotations

import select
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from tests.farm import Farm, wait_until
from tests.integration.test_front_door import smartmanu_token

CUBE = Path(__file__).parents[1] / "fixtures" / "cad" / "20mm-xyz-cube.stl"
HOSTILE = 50
TRICKLE_S = 60.0


def trickle(
    port: int,
    path: str,
    headers: str,
    statuses: list[int],
    stop: threading.Event,
    answers: list[bytes] | None = None,
) -> None:
    """POST `path` announcing 1000 bytes, then one byte a second until the farm answers
    (or `stop`); the answer's status goes into `statuses`, its bytes into `answers`."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}"
            "Content-Length: 1000\r\n\r\n"
        )
        conn.sendall(head.encode())
        deadline = time.monotonic() + TRICKLE_S
        while time.monotonic() < deadline and not stop.is_set():
            readable, _, _ = select.select([conn], [], [], 1.0)
            if readable:
                answer = read_answer(conn)
                statuses.append(int(answer.split(b" ", 2)[1]))
                if answers is not None:
                    answers.append(answer)
                return
            try:
                conn.sendall(b"{" if path != UPLOAD else b"x")
            except OSError:
                statuses.append(-1)
                return


UPLOAD = "/v1/files?name=slow.bin"


def read_answer(conn: socket.socket) -> bytes:
    """One HTTP answer, head and body (by its Content-Length), however it is split."""
    answer = b""
    while b"\r\n\r\n" not in answer and (chunk := conn.recv(65536)):
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lengths = [
        line.split(b":", 1)[1]
        for line in head.lower().split(b"\r\n")[1:]
        if line.startswith(b"content-length:")
    ]
    wanted = int(lengths[0]) if lengths else 0
    while len(body) < wanted and (chunk := conn.recv(65536)):
        body += chunk
    return head + b"\r\n\r\n" + body


def trickle_upload(port: int, api_key: str, statuses: list[int], stop: threading.Event) -> None:
    headers = f"Authorization: Bearer {api_key}\r\nContent-Type: application/octet-stream\r\n"
    trickle(port, UPLOAD, headers, statuses, stop)


def timed(call: Any) -> tuple[float, int]:
    started = time.monotonic()
    response = call()
    return time.monotonic() - started, response.status_code


def test_slow_uploads_and_waiting_requests_starve_no_other_tenant(farm: Farm, make_tenant) -> None:  # type: ignore[no-untyped-def]
    attacker, victim = make_tenant(), make_tenant()
    file_id = victim.api.post(
        "/api/files",
        params={"file_name": "cube.stl", "file_size": CUBE.stat().st_size},
        data=CUBE.read_bytes(),
        headers={"Content-Type": "application/octet-stream"},
    ).json()["file_id"]
    design_headers = {"Authorization": f"Bearer {smartmanu_token(farm, attacker.creds.api_key)}"}
    design = {
        "product_type": "t_shirt",
        "params": {
            "color": "navy_blue",
            "pattern": {"type": "ai_generate", "prompt": "科技感线条"},
        },
    }
    stop = threading.Event()
    upload_statuses: list[int] = []
    uploads = [
        threading.Thread(
            target=trickle_upload, args=(farm.port, attacker.creds.api_key, upload_statuses, stop)
        )
        for _ in range(HOSTILE)
    ]
    for thread in uploads:
        thread.start()
    with ThreadPoolExecutor(HOSTILE) as pool:
        waiting = [
            pool.submit(
                requests.post,
                f"{farm.base_url}/v2/design/generate",
                json=design,
                headers=design_headers,
                timeout=120,
            )
            for _ in range(HOSTILE)
        ]
        # Past its caps (8 of each) the attacker is refused at once; the rest are held.
        wait_until(lambda: len(upload_statuses) >= HOSTILE - 8, 30, "the uploads past the cap")
        wait_until(
            lambda: sum(f.done() for f in waiting) >= HOSTILE - 8, 30, "the waits past the cap"
        )
        victim_calls = [
            lambda: requests.get(f"{farm.base_url}/healthz", timeout=10),
            lambda: victim.api.get("/v1/jobs", timeout=10),
            lambda: victim.api.post(
                "/api/converts",
                json={"file_id": file_id, "file_name": "cube.stl", "target_format": "e3dx"},
                timeout=10,
            ),
        ]
        answers = [timed(call) for _ in range(3) for call in victim_calls]
        stop.set()
        generate_statuses = [f.result().status_code for f in waiting]
    for thread in uploads:
        thread.join(timeout=15)

    assert [status for _, status in answers] == [200, 200, 200] * 3
    assert max(seconds for seconds, _ in answers) < 1.0, answers
    assert set(generate_statuses) <= {200, 202, 429}, generate_statuses
    assert 429 in generate_statuses
    assert all(s < 500 for s in upload_statuses), upload_statuses
    # Nothing half-received was kept: the abandoned uploads left no file behind.
    assert farm.blob_keys(f"uploads/{attacker.creds.tenant_id}") == []


def test_a_trickled_body_is_refused_at_its_deadline_in_the_dialects_shape(
    farm: Farm, tenant
) -> None:  # type: ignore[no-untyped-def]
    key = tenant.creds.api_key
    cases = [
        (UPLOAD, "application/octet-stream", b"application/problem+json"),
        ("/api/converts", "application/json", b'"type":"RequestTimeout"'),
        ("/v1/jobs", "application/json", b"application/problem+json"),
    ]
    for path, content_type, shape in cases:
        statuses: list[int] = []
        answers: list[bytes] = []
        headers = f"Authorization: Bearer {key}\r\nContent-Type: {content_type}\r\n"

        trickle(farm.port, path, headers, statuses, threading.Event(), answers)

        assert statuses == [408], (path, answers)
        assert shape in answers[0], answers
