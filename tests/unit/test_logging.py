"""Secrets carried in URLs never reach the web server's logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from uvicorn.logging import AccessFormatter

from config.logging import RedactQuerySecrets, install_redaction, redact_query_secrets


@pytest.mark.parametrize(
    "logged",
    [
        "/ws/progress?order_id=DSG-1&token=hush",
        "/v1/blobs/jobs/t/a.png?expires=17&signature=hush",
        "/x?access_token=hush&api_key=hush&secret=hush&key=hush",
        "/x?X-Amz-Signature=hush&X-Amz-Credential=hush&client_secret=hush",
        "/x?TOKEN=hush;password=hush",
        '1.2.3.4 - "GET /x?token=hush HTTP/1.1" 200',
    ],
    ids=[
        "websocket token",
        "signed blob",
        "named secrets",
        "cloud signatures",
        "case and ;",
        "line",
    ],
)
def test_secret_query_values_are_redacted(logged: str) -> None:
    assert redact_query_secrets(logged) == logged.replace("hush", "[redacted]")


@pytest.mark.parametrize(
    "logged",
    [
        "/v1/jobs?state=queued&limit=20",
        "/ws/progress?order_id=DSG-2026-ABC&monkey=1&keys=2",
        "/v1/files/f1",
        "/x?token=",
        "token=outside-a-query",
    ],
    ids=["plain query", "names that only end alike", "no query", "empty value", "no query mark"],
)
def test_everything_else_is_left_as_it_is(logged: str) -> None:
    assert redact_query_secrets(logged) == logged


@pytest.fixture
def access_log() -> Iterator[tuple[logging.Logger, list[str]]]:
    """uvicorn's access logger as `jobfarm web` has it, with its lines captured."""
    logger = logging.getLogger("uvicorn.access")
    lines: list[str] = []
    handler = logging.Handler()
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s'))
    handler.emit = lambda record: lines.append(handler.format(record))  # type: ignore[method-assign]
    saved = (logger.filters[:], logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, lines
    logger.removeHandler(handler)
    logger.filters[:], logger.level, logger.propagate = saved


def test_uvicorns_access_lines_are_redacted_once_installed(
    access_log: tuple[logging.Logger, list[str]],
) -> None:
    logger, lines = access_log
    install_redaction()

    args = ("127.0.0.1:5000", "GET", "/ws/progress?order_id=X&token=smt_t.s", "1.1", 101)
    logger.info('%s - "%s %s HTTP/%s" %d', *args)

    assert lines == [
        '127.0.0.1:5000 - "GET /ws/progress?order_id=X&token=[redacted] HTTP/1.1" 101 '
        "Switching Protocols"
    ]


def test_installing_twice_adds_one_filter(access_log: tuple[logging.Logger, list[str]]) -> None:
    logger, _ = access_log

    install_redaction()
    install_redaction()

    assert sum(isinstance(f, RedactQuerySecrets) for f in logger.filters) == 1


def test_the_filter_keeps_every_record_and_its_non_text_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, "%s %d", ("/a?key=k", 7), None
    )

    assert RedactQuerySecrets().filter(record)
    assert record.getMessage() == "/a?key=[redacted] 7"
