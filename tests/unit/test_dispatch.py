"""The dispatcher's choice (storage.dispatch.choose): priority first, then the fair share
of the window by weight, round robin on ties, caps held."""

from __future__ import annotations

from collections import Counter, deque
from datetime import datetime, timedelta

from storage.dispatch import Lane, Waiting, choose

T0 = datetime(2026, 12, 1, 12, 0, 0)


def backlog(tenant: str, count: int, priority: int = 5, start: int = 0) -> deque[Waiting]:
    return deque(
        Waiting(f"{tenant}{i}", f"d-{tenant}{i}", "noop", priority, T0 + timedelta(seconds=i))
        for i in range(start, start + count)
    )


def drain(lanes: list[Lane], rounds: int, per_round: int = 1) -> list[str]:
    """Release `per_round` jobs at a time, finishing each as the next round begins (one
    slot freed per release), as a farm at capacity does."""
    order: list[str] = []
    now = T0
    for _ in range(rounds):
        now += timedelta(seconds=1)
        for job in choose(lanes, per_round, now):
            order.append(job.id)
        for lane in lanes:
            lane.in_flight = 0
    return order


def tenant_of(job_id: str) -> str:
    return job_id.rstrip("0123456789")


def test_an_idle_tenant_goes_before_one_holding_the_window() -> None:
    big = Lane("a", in_flight=3, last_release=T0, waiting=backlog("a", 100))
    small = Lane("b", waiting=backlog("b", 5))

    chosen = choose([big, small], 1, T0)

    assert [j.id for j in chosen] == ["b0"]


def test_equal_tenants_alternate() -> None:
    lanes = [Lane("a", waiting=backlog("a", 10)), Lane("b", waiting=backlog("b", 10))]

    order = drain(lanes, 10)

    assert [tenant_of(j) for j in order] == ["a", "b"] * 5


def test_weights_share_the_window_in_proportion() -> None:
    heavy = Lane("a", weight=3, waiting=backlog("a", 60))
    light = Lane("b", weight=1, waiting=backlog("b", 60))

    chosen = choose([heavy, light], 40, T0)

    assert Counter(tenant_of(j.id) for j in chosen) == {"a": 30, "b": 10}


def test_higher_priority_goes_first_whatever_the_share() -> None:
    urgent = Lane("a", in_flight=5, last_release=T0, waiting=backlog("a", 2, priority=9))
    normal = Lane("b", waiting=backlog("b", 5))

    chosen = choose([urgent, normal], 3, T0)

    assert [j.id for j in chosen] == ["a0", "a1", "b0"]


def test_a_cap_holds_and_leaves_the_rest_to_others() -> None:
    capped = Lane("a", in_flight=1, cap=2, waiting=backlog("a", 10))
    other = Lane("b", waiting=backlog("b", 10))

    chosen = choose([capped, other], 6, T0)

    assert Counter(tenant_of(j.id) for j in chosen) == {"a": 1, "b": 5}


def test_a_full_cap_releases_nothing_of_its_tenant() -> None:
    capped = Lane("a", in_flight=2, cap=2, waiting=backlog("a", 10))

    assert choose([capped], 5, T0) == []


def test_within_a_tenant_jobs_go_in_backlog_order() -> None:
    lane = Lane("a", waiting=backlog("a", 5))

    chosen = choose([lane], 3, T0)

    assert [j.id for j in chosen] == ["a0", "a1", "a2"]
    assert lane.in_flight == 3 and lane.last_release == T0


def test_a_queue_of_short_runs_keeps_one_ready_per_slot_and_of_very_short_none(
    monkeypatch,
) -> None:
    from workers import dispatch

    monkeypatch.setattr(dispatch, "_slots_cache", (float("inf"), {"render": 3, "cad": 3}))
    monkeypatch.setattr(dispatch, "_run_s", {})
    assert dispatch.window("render") == 3  # no run seen yet: not known to be short
    dispatch.note_run("render", 0.5)
    dispatch.note_run("cad", 0.01)

    assert dispatch.window("render") == 6  # short: a message ready behind each slot
    assert dispatch.window("cad") == 3  # very short: each slot goes straight on
    assert dispatch.continues("cad") and not dispatch.continues("render")


def test_a_farm_whose_messages_never_go_on_keeps_messages_ready_for_very_short_runs(
    monkeypatch,
) -> None:
    from config.settings import get_settings
    from workers import dispatch

    monkeypatch.setenv("JOBFARM_CONTINUE_FOR_S", "0")
    get_settings.cache_clear()
    monkeypatch.setattr(dispatch, "_slots_cache", (float("inf"), {"cad": 3}))
    monkeypatch.setattr(dispatch, "_run_s", {})
    dispatch.note_run("cad", 0.01)
    try:
        assert not dispatch.continues("cad")
        assert dispatch.window("cad") == 6
    finally:
        get_settings.cache_clear()
