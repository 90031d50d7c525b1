"""The pure parts of webhook endpoints: filters, signing secrets, disabling, replays."""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import get_args

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from api_stub.native.webhook_schemas import EventType, naive_utc
from cli.webhooks import utc_time
from storage.audit import url_for_the_record
from storage.delivery_status import DEAD, STATUS_FILTERS, DeliveryStatus, statuses_of
from storage.tenants import new_webhook_secret
from storage.webhook_endpoints import (
    EVENT_TYPES,
    disable_reason,
    signing_secrets,
    takes,
    unknown_event_types,
)
from workers.signature import webhook_headers

NOW = datetime(2026, 12, 2, 12, 0, 0)


@pytest.mark.parametrize(
    ("event_types", "event_type", "taken"),
    [
        ([], "job.succeeded", True),
        ([], "batch.completed", True),
        (["job.failed"], "job.failed", True),
        (["job.failed"], "job.succeeded", False),
        (["job.succeeded", "batch.completed"], "batch.completed", True),
    ],
)
def test_a_filter_takes_its_events_and_an_empty_one_takes_all(
    event_types: list[str], event_type: str, taken: bool
) -> None:
    assert takes(event_types, event_type) is taken


def test_the_api_accepts_exactly_the_events_the_farm_sends() -> None:
    assert get_args(EventType) == EVENT_TYPES
    assert unknown_event_types(["job.succeeded", "job.exploded"]) == ["job.exploded"]


@pytest.mark.parametrize(
    ("previous", "expires_at", "expected"),
    [
        (None, None, ("new",)),
        ("old", NOW + timedelta(seconds=1), ("old", "new")),
        ("old", NOW, ("new",)),
        ("old", NOW - timedelta(hours=1), ("new",)),
        ("old", None, ("new",)),
    ],
)
def test_the_previous_secret_signs_only_within_its_window(
    previous: str | None, expires_at: datetime | None, expected: tuple[str, ...]
) -> None:
    assert signing_secrets("new", previous, expires_at, NOW) == expected


@pytest.mark.parametrize(
    ("status_code", "failing_for_s", "disabled"),
    [
        (410, None, True),
        (410, 0, True),
        (500, None, False),
        (500, 59, False),
        (500, 60, False),
        (500, 61, True),
        (None, 61, True),
        (404, 3600, True),
    ],
)
def test_a_410_disables_at_once_and_failure_only_past_the_window(
    status_code: int | None, failing_for_s: float | None, disabled: bool
) -> None:
    since = None if failing_for_s is None else NOW - timedelta(seconds=failing_for_s)
    reason = disable_reason(status_code, since, NOW, window_s=60)
    assert (reason is not None) is disabled
    if status_code == 410:
        assert reason == "the endpoint answered 410 Gone"


def test_both_signatures_of_an_overlap_verify_alone() -> None:
    old, new = new_webhook_secret(), new_webhook_secret()
    body = json.dumps({"type": "job.succeeded", "data": {"id": "job_1"}})
    headers = webhook_headers((old, new), "msg_1", int(time.time()), body)

    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(body, headers) == json.loads(body)
    assert Webhook(new).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_webhook_secret()).verify(body, headers)


def test_one_secret_gives_one_signature() -> None:
    secret = new_webhook_secret()
    headers = webhook_headers((secret,), "msg_1", int(time.time()), "{}")
    assert headers["webhook-signature"].count("v1,") == 1


def test_dead_is_failed_and_stopped() -> None:
    assert statuses_of("dead") == DEAD == {DeliveryStatus.FAILED, DeliveryStatus.STOPPED}
    assert statuses_of("delivered") == {DeliveryStatus.DELIVERED}
    assert {"pending", "delivered", "failed", "stopped", "dead"} == STATUS_FILTERS


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 2, 13, 0, tzinfo=timezone(timedelta(hours=1))),
        datetime(2026, 12, 2, 12, 0, tzinfo=UTC),
        datetime(2026, 12, 2, 12, 0),
    ],
)
def test_times_are_taken_as_naive_utc(moment: datetime) -> None:
    assert naive_utc(moment) == NOW


def test_the_cli_reads_iso_times_as_utc() -> None:
    assert utc_time("2026-12-02T13:00:00+01:00") == NOW
    assert utc_time("2026-12-02T12:00:00") == NOW
    with pytest.raises(argparse.ArgumentTypeError):
        utc_time("yesterday")


@pytest.mark.parametrize(
    ("moment", "bound"),
    [
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))), datetime.min),
        (datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1))), datetime.max),
    ],
)
def test_times_past_the_range_once_in_utc_bound_it(moment: datetime, bound: datetime) -> None:
    assert naive_utc(moment) == bound


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://user:pw@hooks.example.com/in?token=abc#x", "https://hooks.example.com/in"),
        ("http://hooks.example.com:8443/a/b", "http://hooks.example.com:8443/a/b"),
        ("http://[2001:db8::1]:9000/hook?k=v", "http://[2001:db8::1]:9000/hook"),
    ],
)
def test_the_audit_log_keeps_an_endpoint_url_without_its_credentials(url: str, kept: str) -> None:
    assert url_for_the_record(url) == kept
