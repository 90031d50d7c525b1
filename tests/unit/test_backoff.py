import pytest

from workers.backoff import broker_countdown, jittered, job_retry_delay, webhook_retry_delay

SCHEDULE = [5, 300, 1800]


@pytest.mark.parametrize(("failed", "base"), [(1, 5), (2, 300), (3, 1800)])
def test_webhook_delay_follows_the_schedule_within_jitter(failed: int, base: float) -> None:
    assert webhook_retry_delay(failed, SCHEDULE, 0.2, rand=lambda: 0.5) == base
    assert webhook_retry_delay(failed, SCHEDULE, 0.2, rand=lambda: 0.0) == pytest.approx(base * 0.8)
    assert webhook_retry_delay(failed, SCHEDULE, 0.2, rand=lambda: 1.0) == pytest.approx(base * 1.2)


@pytest.mark.parametrize("failed", [0, 4, 10])
def test_webhook_delay_is_none_outside_the_schedule(failed: int) -> None:
    assert webhook_retry_delay(failed, SCHEDULE, 0.2) is None


def test_default_webhook_schedule_spans_hours() -> None:
    from config.settings import Settings

    assert sum(Settings().webhook_retry_schedule_s) > 3 * 3600


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 2), (2, 4), (3, 8), (10, 60)])
def test_job_retry_delay_doubles_up_to_the_cap(attempt: int, ceiling: float) -> None:
    assert job_retry_delay(attempt, 2, 60, rand=lambda: 1.0) == ceiling
    assert job_retry_delay(attempt, 2, 60, rand=lambda: 0.0) == 0


def test_jitter_never_goes_negative() -> None:
    assert jittered(1.0, 1.0, rand=lambda: 0.0) == 0.0


@pytest.mark.parametrize(
    ("seconds", "whole_seconds", "published"),
    [
        (0, False, None),
        (-1, True, None),
        (0.2, False, 0.2),
        (0.2, True, 1.0),  # Celery truncates to 0 and refuses it on quorum queues
        (0.999, True, 1.0),
        (2.5, True, 2.5),
    ],
)
def test_a_countdown_under_a_second_waits_a_second_where_the_broker_counts_whole_ones(
    seconds: float, whole_seconds: bool, published: float | None
) -> None:
    assert broker_countdown(seconds, whole_seconds) == published
