import json
import time
from pathlib import Path

import pytest

from tasks.errors import PermanentError, RetryableError
from tasks.noop import NoopParams, run_noop
from tasks.types import JobContext


def context(tmp_path: Path, attempt: int = 1, **params) -> JobContext:  # type: ignore[no-untyped-def]
    return JobContext(params=NoopParams(**params), workdir=tmp_path, attempt=attempt)


def test_noop_returns_its_params_and_writes_them(tmp_path: Path) -> None:
    outcome = run_noop(context(tmp_path, colour="red"))

    assert outcome.result["params"] == {"colour": "red"}
    [out] = outcome.outputs
    assert json.loads(out.read_text()) == outcome.result


def test_noop_burns_the_requested_cpu_time(tmp_path: Path) -> None:
    before = time.process_time()
    outcome = run_noop(context(tmp_path, cpu_seconds=0.3))

    assert time.process_time() - before >= 0.3
    assert outcome.result["hash_rounds"] > 0


def test_noop_reports_rising_progress(tmp_path: Path) -> None:
    seen: list[float] = []
    ctx = JobContext(
        params=NoopParams(cpu_seconds=0.2),
        workdir=tmp_path,
        progress=lambda completion, stage: seen.append(completion),
    )
    run_noop(ctx)

    assert seen[0] == 0 and seen[-1] == 100 and seen == sorted(seen)


def test_noop_waits_the_requested_wall_time_without_burning_cpu(tmp_path: Path) -> None:
    cpu_before, wall_before = time.process_time(), time.monotonic()
    run_noop(context(tmp_path, wait_seconds=0.3))

    assert time.monotonic() - wall_before >= 0.3
    assert time.process_time() - cpu_before < 0.15


def test_noop_progress_rises_across_burning_and_waiting(tmp_path: Path) -> None:
    seen: list[tuple[float, str]] = []
    ctx = JobContext(
        params=NoopParams(cpu_seconds=0.2, wait_seconds=0.3),
        workdir=tmp_path,
        progress=lambda completion, stage: seen.append((completion, stage)),
    )
    run_noop(ctx)

    completions = [completion for completion, _ in seen]
    assert completions[0] == 0 and completions[-1] == 100 and completions == sorted(completions)
    assert max(c for c, stage in seen if stage == "working") <= 40
    assert min(c for c, stage in seen if stage == "waiting") >= 40


@pytest.mark.parametrize(
    ("fail", "error"), [("permanent", PermanentError), ("retryable", RetryableError)]
)
def test_noop_fails_as_asked(tmp_path: Path, fail: str, error: type) -> None:
    with pytest.raises(error):
        run_noop(context(tmp_path, fail=fail))


def test_noop_stops_failing_after_the_given_attempts(tmp_path: Path) -> None:
    with pytest.raises(RetryableError):
        run_noop(context(tmp_path, attempt=2, fail="retryable", fail_attempts=2))
    assert run_noop(context(tmp_path, attempt=3, fail="retryable", fail_attempts=2)).outputs
