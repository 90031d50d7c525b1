"""Job states and the transitions between them: pure decisions, no I/O."""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    QUEUED = "queued"  # stored, and a message is (or will be) on its queue
    RUNNING = "running"  # a worker holds it
    SUCCEEDED = "succeeded"  # outputs stored; final
    FAILED = "failed"  # gave up, with an error code and message; final
    CANCELED = "canceled"  # stopped at the client's request; final


FINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED})

# running → running: a message redelivered after its worker died takes the job over.
# running → queued: a retry after a passing fault, or recovery from a lost worker.
ALLOWED: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.FAILED, JobState.CANCELED}),
    JobState.RUNNING: frozenset(
        {JobState.RUNNING, JobState.QUEUED, JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED}
    ),
    JobState.SUCCEEDED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELED: frozenset(),
}


# An explicit retry starts a failed or canceled job over, as a new attempt of the same
# job: an operator's or client's act, never a step a run takes, so it stays out of
# ALLOWED, where final states stay final for every run, recovery and redelivery.
RETRY_SOURCES = frozenset({JobState.FAILED, JobState.CANCELED})


class IllegalTransition(Exception):
    """A job cannot move between these states."""

    def __init__(self, current: JobState, target: JobState) -> None:
        self.current, self.target = current, target
        super().__init__(f"job cannot go from {current} to {target}")


def can_move(current: JobState, target: JobState) -> bool:
    return target in ALLOWED[current]


def sources_of(target: JobState) -> frozenset[JobState]:
    """The states a job may be in to move to `target`."""
    return frozenset(state for state, targets in ALLOWED.items() if target in targets)


def check_transition(current: JobState, target: JobState) -> None:
    """Raise `IllegalTransition` unless `current → target` is allowed."""
    if not can_move(current, target):
        raise IllegalTransition(current, target)


def can_retry(current: JobState) -> bool:
    """Whether a job in `current` may be started over by a retry."""
    return current in RETRY_SOURCES
