"""Idle culling decisions: pure functions, no Django and no I/O (tested as tables).

A running workspace has up to two deadlines: idle timeout after its last activity, and maximum
age after its start. The owner is warned `warning` before the nearer one (never more than half
the limit before it), and the stop never comes sooner than `warning` after the warning, even
when sweeps were missed. One "keep running" per run moves both deadlines to at least its end.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

NONE, WARN, CULL, CLEAR = "none", "warn", "cull", "clear"
IDLE, MAX_AGE = "idle", "max_age"


@dataclass(frozen=True)
class Limits:
    idle_timeout: timedelta | None  # None: never stopped for being idle
    max_age: timedelta | None  # None: no maximum age
    warning: timedelta  # how long before the stop the owner hears of it
    extension: timedelta  # what the one "keep running" adds

    @property
    def active(self):
        return bool(self.idle_timeout or self.max_age)


@dataclass(frozen=True)
class Run:
    """What is known about one running server."""

    started: datetime
    last_activity: datetime | None = None
    busy: bool = False  # a kernel is executing (or, if configured, a client is connected): active now
    warned_at: datetime | None = None
    extended_until: datetime | None = None


@dataclass(frozen=True)
class Decision:
    action: str  # NONE, WARN, CULL or CLEAR (a warning that no longer applies: activity came back)
    deadline: datetime | None = None
    kind: str = ""  # IDLE or MAX_AGE
    reason: str = ""  # for people: "idle for 30 min", "reached maximum age 12 h"


def format_duration(duration):
    """30 min, 2 h, 1 h 30 min, 3 d, 2 d 4 h: whole minutes, for messages."""
    minutes = int(duration.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if minutes or not parts:
        parts.append(f"{minutes} min")
    return " ".join(parts[:2])


def _lead(warning, limit):
    # A 10-minute timeout with a 15-minute warning would warn people who are still working.
    return min(warning, limit / 2)


def next_stop(limits, run, now):
    """(deadline, kind, reason, lead) of the nearer automatic stop, or None when none applies."""
    candidates = []  # maximum age first: on a tie it is the firmer reason (activity cannot move it)
    if limits.max_age:
        candidates.append((run.started + limits.max_age, MAX_AGE, f"reached maximum age {format_duration(limits.max_age)}",
                           _lead(limits.warning, limits.max_age)))
    if limits.idle_timeout:
        since = now if run.busy else max(run.last_activity or run.started, run.started)
        candidates.append((since + limits.idle_timeout, IDLE, f"idle for {format_duration(limits.idle_timeout)}",
                           _lead(limits.warning, limits.idle_timeout)))
    if not candidates:
        return None
    if run.extended_until is not None:
        candidates = [(max(deadline, run.extended_until), *rest) for deadline, *rest in candidates]
    return min(candidates, key=lambda candidate: candidate[0])


def decide(limits, run, now):
    """What to do with one running server now. Deterministic in its inputs, so safe to repeat."""
    stop = next_stop(limits, run, now)
    if stop is None:
        return Decision(CLEAR if run.warned_at else NONE)
    deadline, kind, reason, lead = stop
    if run.warned_at is None:
        if now >= deadline - lead:
            return Decision(WARN, max(deadline, now + lead), kind, reason)
        return Decision(NONE, deadline, kind, reason)
    if now < deadline - lead:
        return Decision(CLEAR, deadline, kind, reason)
    if now >= max(deadline, run.warned_at + lead):
        return Decision(CULL, deadline, kind, reason)
    return Decision(NONE, max(deadline, run.warned_at + lead), kind, reason)


def parse_time(value):
    """An ISO 8601 time from the hub or a Jupyter server ("…Z" or "+00:00"), or None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def kernels_activity(kernels, *, connected_is_active):
    """(latest kernel activity or None, busy) from a Jupyter server's `/api/kernels` answer."""
    latest, busy = None, False
    for kernel in kernels:
        if not isinstance(kernel, dict):
            continue
        seen = parse_time(kernel.get("last_activity"))
        if seen and (latest is None or seen > latest):
            latest = seen
        if kernel.get("execution_state") == "busy":
            busy = True
        if connected_is_active and isinstance(kernel.get("connections"), int) and kernel["connections"] > 0:
            busy = True
    return latest, busy
