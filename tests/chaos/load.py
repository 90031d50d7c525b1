"""The mixed load of the chaos tier: tenants submitting noop, convert, thumbnail, design
and short video jobs, each with a callback URL, as a careful client does when the farm
misbehaves: the same `Idempotency-Key` again until the job is accepted, after a refused
connection, a 5xx or a 429 alike. A job counts as accepted once the farm said so (202,
or 200 for the key seen before)."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests

KIND_WEIGHTS = {"noop": 78, "convert": 6, "thumbnail": 6, "design": 6, "video": 4}
DESIGN = {
    "product_type": "t_shirt",
    "color": "white",
    "placement": "left_chest",
    "pattern": {"type": "solid", "color": "#1f4e79"},
}
# How long a client keeps trying one submission before it gives up on the farm.
SUBMIT_PATIENCE_S = 120


@dataclass(frozen=True)
class Client:
    tenant_id: str
    api_key: str
    model_id: int  # a local video model, charged per video
    input_file_id: str  # a mesh to convert and draw


@dataclass(frozen=True)
class Accepted:
    job_id: str
    tenant_id: str
    kind: str
    tries: int


class GaveUp(RuntimeError):
    """The farm did not accept one submission within the client's patience."""


def job_body(kind: str, client: Client, callback_url: str, rng: random.Random) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": kind, "callback_url": callback_url}
    if kind == "noop":
        body["params"] = {"wait_seconds": round(rng.uniform(0, 0.2), 3)}
    elif kind == "convert":
        body["input_file_id"] = client.input_file_id
    elif kind == "thumbnail":
        body["input_file_id"] = client.input_file_id
        body["params"] = {"width": 128, "height": 128}
    elif kind == "design":
        body["params"] = DESIGN
    elif kind == "video":
        body["params"] = {
            "script": "一。二。",
            "duration": 2,
            "model_id": client.model_id,
            "width": 160,
            "height": 90,
            "fps": 10,
        }
    return body


def submit(base_url: str, client: Client, body: dict[str, Any]) -> tuple[str, int]:
    """POST the job until the farm takes it; returns its id and the tries it took."""
    headers = {"Authorization": f"Bearer {client.api_key}", "Idempotency-Key": uuid.uuid4().hex}
    deadline = time.monotonic() + SUBMIT_PATIENCE_S
    tries = 0
    while time.monotonic() < deadline:
        tries += 1
        try:
            answer = requests.post(f"{base_url}/v1/jobs", json=body, headers=headers, timeout=10)
        except requests.RequestException:
            time.sleep(0.2)
            continue
        if answer.status_code in (200, 202):
            return str(answer.json()["id"]), tries
        if answer.status_code == 429 or answer.status_code >= 500:
            time.sleep(min(float(answer.headers.get("retry-after", 0.2) or 0.2), 2))
            continue
        raise AssertionError(f"{body['kind']} refused: {answer.status_code} {answer.text}")
    raise GaveUp(f"{body['kind']} not accepted within {SUBMIT_PATIENCE_S} s")


class Load:
    """`total` jobs at about `rate` a second from four client threads."""

    def __init__(
        self,
        base_url: str,
        clients: list[Client],
        callback_url: str,
        seed: int,
        total: int,
        rate: float,
    ) -> None:
        self.base_url = base_url
        self.clients = clients
        self.callback_url = callback_url
        self.seed = seed
        self.total = total
        self.rate = rate
        self.accepted: list[Accepted] = []
        self.error: Exception | None = None  # what stopped the clients, if anything did
        self.finished = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        try:
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(self._one, range(self.total)))
        except Exception as exc:
            self.error = exc
        finally:
            self.finished.set()

    def _one(self, n: int) -> None:
        rng = random.Random(f"{self.seed}:{n}")
        started = time.monotonic()
        client = rng.choice(self.clients)
        kind = rng.choices(list(KIND_WEIGHTS), list(KIND_WEIGHTS.values()))[0]
        body = job_body(kind, client, self.callback_url, rng)
        job_id, tries = submit(self.base_url, client, body)
        with self._lock:
            self.accepted.append(Accepted(job_id, client.tenant_id, kind, tries))
        # Four threads at `rate` in all: each job takes at least 4 / rate seconds.
        time.sleep(max(0.0, 4 / self.rate - (time.monotonic() - started)))

    def done(self) -> Callable[[], bool]:
        return self.finished.is_set
