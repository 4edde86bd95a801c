"""The ``stop_workspaces`` action as a function of the budget's current state: pure, no Django, no I/O
(tested as a table).

Only three facts matter: the action in force now, whether the team is at or over 100 % of its
limit now (grants included), and the stop that is pending, if any. Alert history plays no part, so
any sequence of action changes, grants and alerts ends in the same place: over the limit under
``stop_workspaces`` means warned, then stopped after the grace; anything else means no stop.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

NONE, WARN, STOP, CANCEL = "none", "warn", "stop", "cancel"


@dataclass(frozen=True)
class Decision:
    action: str  # NONE, WARN (start the grace), STOP (the grace is over) or CANCEL (drop the pending stop)
    stop_after: datetime | None = None  # WARN: when the stop is due


def decide(*, stops_workspaces: bool, over: bool, stop_after: datetime | None, grace: timedelta, now: datetime):
    """What to do about a team's running workspaces now. ``stop_after`` is the pending stop's deadline
    (None when none is pending). Deterministic in its inputs, so a repeated pass does nothing twice."""
    if not (stops_workspaces and over):
        return Decision(CANCEL) if stop_after is not None else Decision(NONE)
    if stop_after is None:
        # The grace starts when the state first calls for a stop, whatever fired before: a team that
        # switched to stop_workspaces long after its 100 % alert still gets the full warning.
        return Decision(WARN, now + grace)
    if now >= stop_after:
        return Decision(STOP)
    return Decision(NONE)
