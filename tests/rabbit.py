"""RabbitMQ for tests: a virtual host of the test's own on the machine's broker, made
and deleted with `rabbitmqctl`, and the broker's restart for fault tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, urlsplit, urlunsplit

RABBITMQCTL_TIMEOUT_S = 60


def amqp_admin_url() -> str | None:
    """JOBFARM_TEST_AMQP_URL (`amqp://guest:guest@127.0.0.1:5672`): the broker the suite
    may run farms on; None runs them on Redis."""
    return os.environ.get("JOBFARM_TEST_AMQP_URL") or None


def rabbitmqctl(*args: str) -> str:
    done = subprocess.run(
        ["rabbitmqctl", *args],
        capture_output=True,
        text=True,
        timeout=RABBITMQCTL_TIMEOUT_S,
        check=True,
    )
    return done.stdout


def why_rabbitmqctl_cannot_run() -> str | None:
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not installed"
    try:
        rabbitmqctl("status")
    except (subprocess.SubprocessError, OSError) as exc:
        return f"rabbitmqctl cannot reach the broker: {exc}"
    return None


@contextmanager
def fresh_vhost(admin_url: str) -> Iterator[str]:
    """A new virtual host on the broker of `admin_url`, open to its user; yields the URL
    into it, and deletes the vhost (its queues and messages) afterwards."""
    parts = urlsplit(admin_url)
    name = f"jobfarm_test_{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, parts.username or "guest", ".*", ".*", ".*")
        yield urlunsplit(parts._replace(path="/" + quote(name, safe="")))
    finally:
        rabbitmqctl("delete_vhost", name)


def restart_broker() -> None:
    """Stop the broker's application and start it again (the node stays up): every
    connection drops; quorum queues keep their messages."""
    rabbitmqctl("stop_app")
    rabbitmqctl("start_app")
    rabbitmqctl("await_startup")
