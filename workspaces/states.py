"""A workspace's displayed status, derived from what was asked and what was last seen. Pure.

``desired`` is what a person asked for (running, stopped, deleted); ``observed`` is what the
reconciler last saw at the hub. Displayed status is a function of both, so a stop request
shows "stopping" until the hub confirms, whatever order events arrive in.
"""

DESIRED = ("running", "stopped", "deleted")
OBSERVED = ("none", "pending", "starting", "running", "stopping", "stopped", "failed")
STATUSES = ("pending", "starting", "running", "stopping", "stopped", "failed", "deleted")
# Observed states in which nothing more will happen without a new request.
SETTLED = {("running", "running"), ("stopped", "stopped"), ("stopped", "none"), ("stopped", "failed"),
           ("running", "failed"), ("deleted", "stopped"), ("deleted", "none"), ("deleted", "failed")}


def workspace_status(desired, observed):
    if desired not in DESIRED or observed not in OBSERVED:
        raise ValueError(f"unknown state ({desired!r}, {observed!r})")
    if desired == "running":
        return {"none": "pending", "pending": "pending", "starting": "starting", "running": "running",
                "stopping": "stopping", "stopped": "pending", "failed": "failed"}[observed]
    if desired == "stopped":
        return {"none": "stopped", "stopped": "stopped", "failed": "failed"}.get(observed, "stopping")
    return "deleted" if observed in ("none", "stopped", "failed") else "stopping"


def is_settled(desired, observed):
    """True when the reconciler has nothing left to do for this pair."""
    return (desired, observed) in SETTLED
