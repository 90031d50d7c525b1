"""The agent API's pure parts: the access key check, DRF page links, throughput, ETA,
and tallying the workers' queues."""

from __future__ import annotations

import pytest
from starlette.datastructures import URL

from api_stub.agent.access import key_matches
from api_stub.agent.pages import Window, drf_page, next_link, previous_link
from api_stub.capacity import eta_s, throughput_per_min
from workers.census import count_consumers

LIST = URL("http://farm.example/api/v2/ai/jobs/?merchant_id=7&state=queued&limit=10")


@pytest.mark.parametrize(
    ("presented", "expected", "matches"),
    [
        ("k3y", "k3y", True),
        ("Bearer k3y", "k3y", False),
        ("k3y ", "k3y", False),
        ("k3", "k3y", False),
        ("", "k3y", False),
        (None, "k3y", False),
        ("k3y", None, False),
        ("", "", False),
        ("", None, False),
    ],
)
def test_only_the_configured_key_itself_matches(
    presented: str | None, expected: str | None, matches: bool
) -> None:
    assert key_matches(presented, expected) is matches


@pytest.mark.parametrize(
    ("count", "offset", "expected"),
    [
        (
            25,
            0,
            "http://farm.example/api/v2/ai/jobs/?merchant_id=7&state=queued&limit=10&offset=10",
        ),
        (
            25,
            10,
            "http://farm.example/api/v2/ai/jobs/?merchant_id=7&state=queued&limit=10&offset=20",
        ),
        (25, 20, None),
        (20, 10, None),
        (0, 0, None),
        (5, 30, None),
    ],
)
def test_next_keeps_the_filters_and_stops_at_the_end(
    count: int, offset: int, expected: str | None
) -> None:
    assert next_link(LIST, count, Window(10, offset)) == expected


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (0, None),
        (5, "http://farm.example/api/v2/ai/jobs/?merchant_id=7&state=queued&limit=10"),
        (10, "http://farm.example/api/v2/ai/jobs/?merchant_id=7&state=queued&limit=10"),
        (25, "http://farm.example/api/v2/ai/jobs/?merchant_id=7&state=queued&limit=10&offset=15"),
    ],
)
def test_previous_drops_the_offset_on_the_first_page(offset: int, expected: str | None) -> None:
    url = LIST.include_query_params(offset=offset)

    assert previous_link(url, Window(10, offset)) == expected


def test_a_page_has_drfs_four_keys() -> None:
    page = drf_page(LIST, 3, Window(10, 0), [1, 2, 3])

    assert page == {"count": 3, "next": None, "previous": None, "results": [1, 2, 3]}


@pytest.mark.parametrize(
    ("finished", "window_s", "per_min"),
    [(0, 300, 0.0), (30, 300, 6.0), (1, 60, 1.0), (7, 120, 3.5)],
)
def test_throughput_is_jobs_a_minute_over_the_window(
    finished: int, window_s: float, per_min: float
) -> None:
    assert throughput_per_min(finished, window_s) == per_min


@pytest.mark.parametrize(
    ("backlog", "per_min", "eta"),
    [(0, 0.0, 0.0), (0, 5.0, 0.0), (10, 0.0, None), (10, 6.0, 100.0), (3, 60.0, 3.0)],
)
def test_eta_is_the_backlog_at_that_pace_and_null_without_one(
    backlog: int, per_min: float, eta: float | None
) -> None:
    assert eta_s(backlog, per_min) == eta


def test_workers_are_counted_once_per_queue_they_consume() -> None:
    replies = {
        "long-1@h": [{"name": "cad"}, {"name": "render"}, {"name": "cad"}],
        "long-2@h": [{"name": "cad"}],
        "short-1@h": [{"name": "webhooks"}],
    }

    assert count_consumers(replies) == {"cad": 2, "render": 1, "webhooks": 1}
    assert count_consumers(None) == {}
