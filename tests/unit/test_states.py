import pytest

from storage.states import ALLOWED, FINAL_STATES, IllegalTransition, JobState, check_transition

Q, R, S, F, C = (
    JobState.QUEUED,
    JobState.RUNNING,
    JobState.SUCCEEDED,
    JobState.FAILED,
    JobState.CANCELED,
)


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (Q, R, True),
        (Q, C, True),
        (Q, F, True),
        (Q, S, False),
        (Q, Q, False),
        (R, S, True),
        (R, F, True),
        (R, C, True),
        (R, Q, True),
        (R, R, True),
        (S, R, False),
        (S, C, False),
        (S, F, False),
        (S, Q, False),
        (F, R, False),
        (F, S, False),
        (F, Q, False),
        (C, R, False),
        (C, S, False),
        (C, Q, False),
    ],
)
def test_transition_table(current: JobState, target: JobState, allowed: bool) -> None:
    if allowed:
        check_transition(current, target)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(current, target)


def test_final_states_lead_nowhere() -> None:
    assert all(ALLOWED[state] == frozenset() for state in FINAL_STATES)
