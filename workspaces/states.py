"""A workspace's states, written once, and its displayed status, derived from them. Pure.

``desired`` is what a person asked for (running, stopped, deleted); ``observed`` is what the
reconciler last saw at the hub. Displayed status is a function of both, so a stop request
shows "stopping" until the hub confirms, whatever order events arrive in. The model's choices,
the API's status field and the reconciler all use these classes.
"""

from django.db.models import TextChoices


class Desired(TextChoices):
    RUNNING = "running"
    STOPPED = "stopped"
    DELETED = "deleted"


class Observed(TextChoices):
    NONE = "none"
    PENDING = "pending"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


class Status(TextChoices):
    PENDING = "pending"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"
    DELETED = "deleted"


class Failure(TextChoices):
    NONE = ""
    SPAWN_ERROR = "spawn_error", "spawn error"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out_of_memory", "out of memory"
    HUB_UNREACHABLE = "hub_unreachable", "hub unreachable"
    SERVER_DIED = "server_died", "server stopped unexpectedly"


# Observed states in which nothing more will happen without a new request.
SETTLED = {(Desired.RUNNING, Observed.RUNNING), (Desired.STOPPED, Observed.STOPPED), (Desired.STOPPED, Observed.NONE),
           (Desired.STOPPED, Observed.FAILED), (Desired.RUNNING, Observed.FAILED), (Desired.DELETED, Observed.STOPPED),
           (Desired.DELETED, Observed.NONE), (Desired.DELETED, Observed.FAILED)}
_WHILE_RUNNING = {Observed.NONE: Status.PENDING, Observed.PENDING: Status.PENDING, Observed.STARTING: Status.STARTING,
                  Observed.RUNNING: Status.RUNNING, Observed.STOPPING: Status.STOPPING, Observed.STOPPED: Status.PENDING,
                  Observed.FAILED: Status.FAILED}


# Django's `Choices.values` builds a new list on every call; the status is computed for every row of every list.
_DESIRED, _OBSERVED = frozenset(Desired.values), frozenset(Observed.values)


def workspace_status(desired, observed):
    if desired not in _DESIRED or observed not in _OBSERVED:
        raise ValueError(f"unknown state ({desired!r}, {observed!r})")
    if desired == Desired.RUNNING:
        return _WHILE_RUNNING[observed]
    if desired == Desired.STOPPED:
        return {Observed.NONE: Status.STOPPED, Observed.STOPPED: Status.STOPPED,
                Observed.FAILED: Status.FAILED}.get(observed, Status.STOPPING)
    return Status.DELETED if observed in (Observed.NONE, Observed.STOPPED, Observed.FAILED) else Status.STOPPING


def is_settled(desired, observed):
    """True when the reconciler has nothing left to do for this pair."""
    return (desired, observed) in SETTLED
