"""A PostgreSQL cluster of the tier's own, made with the machine's PostgreSQL binaries
and listening on the private subnet's services address only.

Why a cluster rather than forwarding to the machine's server: the machine's server
listens on 127.0.0.1, which inside a host's namespace is that host's own loopback;
a forwarder in the test process would put the test's own threads between every
worker and its database, and the machine's pg_hba would have to trust the subnet.
A cluster of our own takes about two seconds to make, trusts the subnet alone, and
goes away with the run.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

# PostgreSQL refuses to run as root: the cluster runs as this account.
CLUSTER_USER = "postgres"


def postgres_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb, or the directory of
    an initdb on PATH; None when neither exists."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def why_cluster_cannot_be_made() -> str | None:
    """None when a private cluster can be made here, else why not (for a skip)."""
    if postgres_bin_dir() is None:
        return "no PostgreSQL server binaries (initdb) under /usr/lib/postgresql or on PATH"
    try:
        pwd.getpwnam(CLUSTER_USER)
    except KeyError:
        return f"no `{CLUSTER_USER}` account to run a private PostgreSQL cluster as"
    return None


class PrivateCluster:
    """initdb + pg_ctl as `postgres`, data in a fresh directory outside the test's
    private temp tree (which that account cannot enter), trusting `subnet` only."""

    def __init__(self, address: str, port: int, subnet: str, crash_safe: bool = False) -> None:
        self.address = address
        self.port = port
        self.subnet = subnet
        # Whether a commit survives the server's crash (not the machine's): the chaos
        # tier crashes it, and an acknowledged commit must then be there.
        self.crash_safe = crash_safe
        bin_dir = postgres_bin_dir()
        assert bin_dir is not None, why_cluster_cannot_be_made()
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="jobfarm-hosts-pg-"))
        self.data_dir = self.root / "data"
        self.started = False

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@{self.address}:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        account = pwd.getpwnam(CLUSTER_USER)
        done = subprocess.run(
            [str(self.bin_dir / argv[0]), *argv[1:]],
            user=account.pw_uid,
            group=account.pw_gid,
            extra_groups=[],
            env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8"},
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stdout}\n{done.stderr}")

    def start(self) -> None:
        account = pwd.getpwnam(CLUSTER_USER)
        os.chown(self.root, account.pw_uid, account.pw_gid)
        self._run(
            "initdb",
            "--pgdata",
            str(self.data_dir),
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-sync",
        )
        # Trust the subnet's hosts and nothing else (initdb's defaults cover local sockets).
        with (self.data_dir / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {self.subnet} trust\n")
        options = " ".join(
            (
                f"-c listen_addresses={self.address}",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.root}",
                "-c max_connections=200",
                "-c shared_buffers=32MB",
                # A test's cluster needs no durability against power loss (the page
                # cache outlives a crashed server, not a crashed machine).
                "-c fsync=off",
                f"-c synchronous_commit={'on' if self.crash_safe else 'off'}",
                "-c full_page_writes=off",
            )
        )
        self.started = True
        self._run(
            "pg_ctl",
            "--pgdata",
            str(self.data_dir),
            "--log",
            str(self.root / "postgres.log"),
            "--options",
            options,
            "--wait",
            "start",
        )

    def restart(self) -> None:
        """Stop the server at once, as a crash would (open transactions are lost), and
        start it again on the same data with the same options."""
        self._run(
            "pg_ctl",
            "--pgdata",
            str(self.data_dir),
            "--log",
            str(self.root / "postgres.log"),
            "--mode",
            "immediate",
            "--wait",
            "restart",
        )

    def stop(self) -> None:
        """Stop the server at once and delete its data."""
        if self.started:
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "--pgdata", str(self.data_dir), "--mode", "immediate", "stop")
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)
