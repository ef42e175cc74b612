import pytest

from gateway.fine_tuning.status import CLIENT_ACTIONS, TERMINAL, JobStatus

STATUSES = ("validating_files", "queued", "running", "paused", "succeeded", "failed", "cancelled")

# One row per current status; columns: cancel, pause, resume (None: refused).
TABLE = {
    "validating_files": ("cancelled", None, None),
    "queued": ("cancelled", "paused", None),
    "running": ("cancelled", "paused", None),
    "paused": ("cancelled", None, "queued"),
    "succeeded": (None, None, None),
    "failed": (None, None, None),
    "cancelled": (None, None, None),
}
ACTIONS = ("cancel", "pause", "resume")


def test_table_covers_every_status_and_action():
    assert set(TABLE) == set(STATUSES) == {status.value for status in JobStatus}
    assert set(CLIENT_ACTIONS) == set(ACTIONS)


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("action", ACTIONS)
def test_client_actions(action, current):
    allowed_from, target = CLIENT_ACTIONS[action]
    assert (target if current in allowed_from else None) == TABLE[current][ACTIONS.index(action)]


def test_terminal_set_is_the_three_end_states():
    assert {"succeeded", "failed", "cancelled"} == TERMINAL
