"""`jobfarm submit` and `jobfarm status`: the native API, for people at a terminal."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import requests

FINAL = {"succeeded", "failed", "canceled"}
POLL_INTERVAL_S = 0.5
BAR_WIDTH = 30


class ApiError(Exception):
    """The API answered with an error."""


class FarmClient:
    def __init__(self, base_url: str, api_key: str, timeout_s: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {api_key}"
        self.timeout_s = timeout_s

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, self.base_url + path, timeout=self.timeout_s, **kwargs)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ApiError(f"HTTP {response.status_code}: {detail}")
        return response.json()

    def upload(self, path: Path) -> str:
        with path.open("rb") as body:
            return str(self._call("POST", "/v1/files", params={"name": path.name}, data=body)["id"])

    def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._call("POST", "/v1/jobs", json=body))

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/v1/jobs/{job_id}"))


def progress_line(job: dict[str, Any]) -> str:
    """`[#######.......]  45.0% running (working)`: one line, redrawn in place."""
    filled = int(BAR_WIDTH * job["completion"] / 100)
    stage = f" ({job['stage']})" if job.get("stage") else ""
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    return f"[{bar}] {job['completion']:5.1f}% {job['state']}{stage}"


def wait_for(client: FarmClient, job_id: str, timeout_s: float) -> dict[str, Any]:
    """Poll until the job ends, drawing a progress bar on stderr when it is a terminal."""
    deadline = time.monotonic() + timeout_s
    job = client.job(job_id)
    while job["state"] not in FINAL and time.monotonic() < deadline:
        if sys.stderr.isatty():
            print("\r" + progress_line(job), end="", file=sys.stderr, flush=True)
        time.sleep(POLL_INTERVAL_S)
        job = client.job(job_id)
    if sys.stderr.isatty():
        print("\r" + progress_line(job), file=sys.stderr)
    return job


def print_job(job: dict[str, Any]) -> None:
    print(json.dumps(job, indent=2, ensure_ascii=False))
