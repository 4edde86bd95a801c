"""The displayed status as a table of (desired × observed)."""

import pytest

from workspaces.states import is_settled, workspace_status

TABLE = [
    ("running", "none", "pending"), ("running", "pending", "pending"), ("running", "starting", "starting"),
    ("running", "running", "running"), ("running", "stopping", "stopping"), ("running", "stopped", "pending"),
    ("running", "failed", "failed"),
    ("stopped", "none", "stopped"), ("stopped", "pending", "stopping"), ("stopped", "starting", "stopping"),
    ("stopped", "running", "stopping"), ("stopped", "stopping", "stopping"), ("stopped", "stopped", "stopped"),
    ("stopped", "failed", "failed"),
    ("deleted", "running", "stopping"), ("deleted", "stopping", "stopping"), ("deleted", "stopped", "deleted"),
    ("deleted", "none", "deleted"), ("deleted", "failed", "deleted"),
]


@pytest.mark.parametrize(("desired", "observed", "status"), TABLE)
def test_status_table(desired, observed, status):
    assert workspace_status(desired, observed) == status


def test_unknown_states_are_refused():
    with pytest.raises(ValueError):
        workspace_status("flying", "running")


@pytest.mark.parametrize(("desired", "observed", "settled"), [
    ("running", "running", True), ("running", "starting", False), ("stopped", "running", False),
    ("stopped", "stopped", True), ("deleted", "none", True), ("running", "failed", True),
])
def test_settled(desired, observed, settled):
    assert is_settled(desired, observed) is settled
