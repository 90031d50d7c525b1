"""The pure parts of whole-request deadlines and per-endpoint slots."""

from __future__ import annotations

import pytest

from workers.endpoint_slots import endpoint_of
from workers.http_guard import DEFAULT_TOTAL_S, Deadline, split_timeout


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (10.0, (10.0, 10.0)),
        ((3.0, 30.0), (3.0, 30.0)),
        ((30.0, 5.0), (5.0, 5.0)),
        (None, (DEFAULT_TOTAL_S, DEFAULT_TOTAL_S)),
    ],
)
def test_a_timeout_is_split_into_connect_and_total(timeout, expected) -> None:  # type: ignore[no-untyped-def]
    assert split_timeout(timeout) == expected


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("https://Hooks.Example.com/a?b=1", "https://hooks.example.com:443"),
        ("http://hooks.example.com/a", "http://hooks.example.com:80"),
        ("http://127.0.0.1:8080/hook", "http://127.0.0.1:8080"),
        ("HTTPS://[2001:db8::1]:8443/x", "https://[2001:db8::1]:8443"),
    ],
)
def test_an_endpoint_is_scheme_host_and_port(url: str, endpoint: str) -> None:
    assert endpoint_of(url) == endpoint


def test_a_deadline_counts_down_and_never_below_zero() -> None:
    deadline = Deadline(0.0)
    assert deadline.remaining() == 0.0
    assert 0 < Deadline(5.0).remaining() <= 5.0
