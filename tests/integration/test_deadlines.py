"""Deadlines that hold, through the real workers: receivers and downloads that answer
and then trickle a byte at a time are cut at their total deadline, hold no more
delivery slots than their endpoint's, and hold up neither other tenants' webhooks nor
the reconciler."""

from __future__ import annotations

import re
import time
from contextlib import ExitStack

from tests.farm import Farm, wait_until
from tests.integration.conftest import FAST_SETTINGS
from tests.receiver import WebhookReceiver
from tests.trickler import TrickleServer

WEBHOOK_DEADLINE_S = float(FAST_SETTINGS["webhook_timeout_s"])
DOWNLOAD_DEADLINE_S = float(FAST_SETTINGS["input_download_timeout_s"])
FIRST_RETRY_S = 0.3  # FAST_SETTINGS' webhook_retry_schedule_s[0]
RECONCILE_RUN = re.compile(rb"workers\.maintenance\.reconcile\[[^\]]+\] succeeded")


def deliveries(tenant, job_id: str) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    response = tenant.api.get("/v1/webhooks/deliveries", params={"job_id": job_id})
    return response.json()  # type: ignore[no-any-return]


def reconcile_runs(farm: Farm) -> int:
    return len(RECONCILE_RUN.findall(farm.log_path("worker-maintenance").read_bytes()))


def test_a_trickling_webhook_attempt_ends_at_its_deadline_and_is_retried(tenant) -> None:
    with TrickleServer(every_s=1.0) as receiver:
        job = tenant.api.submit(callback_url=receiver.url)
        wait_until(lambda: len(receiver.ended()) >= 2, 30, "a cut attempt and its retry")
        first, second = receiver.visits[:2]
        [delivery] = wait_until(
            lambda: [d for d in deliveries(tenant, job["id"]) if len(d["attempts"]) >= 2],
            10,
            "two attempts on record",
        )

    assert first.closed is not None
    print(
        f"attempt cut after {first.closed - first.opened:.2f} s, "
        f"retried {second.opened - first.closed:.2f} s later"
    )
    assert abs((first.closed - first.opened) - WEBHOOK_DEADLINE_S) <= 2
    # Retried per the schedule: its first delay (±10 % jitter), plus the queue's turn.
    assert FIRST_RETRY_S * 0.9 - 0.2 <= second.opened - first.closed <= FIRST_RETRY_S + 2
    attempt = delivery["attempts"][0]
    assert attempt["status_code"] is None and "DeadlineExceeded" in attempt["error"]
    assert abs(attempt["duration_ms"] / 1000 - WEBHOOK_DEADLINE_S) <= 2
    assert delivery["status"] == "pending"


def test_trickling_receivers_on_every_slot_delay_neither_webhooks_nor_upkeep(
    farm: Farm, make_tenant
) -> None:
    hostile, other = make_tenant(), make_tenant()
    with ExitStack() as stack:
        tricklers = [stack.enter_context(TrickleServer(every_s=1.0)) for _ in range(4)]
        for trickler in tricklers:
            hostile.api.submit(callback_url=trickler.url)
        wait_until(
            lambda: sum(t.open_now() for t in tricklers) >= 2, 30, "every delivery slot held"
        )
        runs_before, held_at = reconcile_runs(farm), time.monotonic()
        receiver = stack.enter_context(WebhookReceiver())
        submitted = time.monotonic()
        other.api.submit(callback_url=receiver.url)
        wait_until(receiver.successes, 15, "the other tenant's webhook")
        delivered_in = time.monotonic() - submitted
        time.sleep(max(0.0, 6 - (time.monotonic() - held_at)))  # a window for upkeep to run
        runs = reconcile_runs(farm) - runs_before
        window_s = time.monotonic() - held_at

    print(f"delivered in {delivered_in:.2f} s; {runs} reconcile runs in {window_s:.1f} s")
    assert delivered_in <= 15
    interval_s = float(FAST_SETTINGS["reconcile_interval_s"])
    assert runs >= window_s / interval_s - 2


def test_one_trickling_endpoint_holds_no_more_than_its_slots(make_tenant) -> None:
    hostile, other = make_tenant(), make_tenant()
    with TrickleServer(every_s=1.0) as trickler, WebhookReceiver() as receiver:
        for _ in range(4):
            hostile.api.submit(callback_url=trickler.url)
        wait_until(trickler.open_now, 30, "a slot held by the trickling endpoint")
        most_open = 0
        submitted = time.monotonic()
        other.api.submit(callback_url=receiver.url)
        while not receiver.successes() and time.monotonic() - submitted < 15:
            most_open = max(most_open, trickler.open_now())
            time.sleep(0.05)
        delivered_in = time.monotonic() - submitted
        watch_until = time.monotonic() + WEBHOOK_DEADLINE_S
        while time.monotonic() < watch_until:
            most_open = max(most_open, trickler.open_now())
            time.sleep(0.05)

    print(f"delivered in {delivered_in:.2f} s; at most {most_open} attempts open at once")
    assert receiver.successes()
    # A free slot took it at once: nothing waited for the trickled attempt's deadline.
    assert delivered_in < WEBHOOK_DEADLINE_S
    assert most_open == int(FAST_SETTINGS["webhook_endpoint_concurrency"])


def test_a_trickling_input_url_fails_its_attempt_at_the_download_deadline(tenant) -> None:
    with TrickleServer(every_s=1.0) as source:
        job = tenant.api.submit(input_url=source.url)
        wait_until(lambda: len(source.visits) >= 2, 40, "the download's retry")
        first = source.visits[0]
        retried = source.visits[1].opened
        tenant.api.post(f"/v1/jobs/{job['id']}/cancel")

    assert first.closed is not None
    took = first.closed - first.opened
    print(f"first download cut after {took:.2f} s (deadline {DOWNLOAD_DEADLINE_S:g} s)")
    assert abs(took - DOWNLOAD_DEADLINE_S) <= 2
    assert retried >= first.closed
