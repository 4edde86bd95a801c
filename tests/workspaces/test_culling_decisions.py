"""The pure culling decision, as tables: when to warn, stop, or forget a warning."""

from datetime import datetime, timedelta, timezone

import pytest

from workspaces.culling import CLEAR, CULL, IDLE, MAX_AGE, NONE, WARN, Limits, Run, decide, format_duration, kernels_activity, parse_time

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
M = timedelta(minutes=1)
LIMITS = Limits(idle_timeout=30 * M, max_age=12 * 60 * M, warning=10 * M, extension=60 * M)


def at(minutes):
    return T0 + minutes * M


@pytest.mark.parametrize("run, now, action, kind, deadline", [
    # Idle: nothing until the warning window, a warning 10 min before, the stop after it.
    (Run(started=at(0), last_activity=at(0)), at(19), NONE, IDLE, at(30)),
    (Run(started=at(0), last_activity=at(0)), at(20), WARN, IDLE, at(30)),
    (Run(started=at(0), last_activity=at(0), warned_at=at(20)), at(25), NONE, IDLE, at(30)),
    (Run(started=at(0), last_activity=at(0), warned_at=at(20)), at(30), CULL, IDLE, at(30)),
    # No activity known: counted from the start.
    (Run(started=at(0)), at(31), WARN, IDLE, at(41)),
    # Sweeps were missed: the warning still comes first, and the stop a full warning period later.
    (Run(started=at(0), last_activity=at(0)), at(90), WARN, IDLE, at(100)),
    (Run(started=at(0), last_activity=at(0), warned_at=at(90)), at(95), NONE, IDLE, at(100)),
    (Run(started=at(0), last_activity=at(0), warned_at=at(90)), at(100), CULL, IDLE, at(30)),
    # Activity after the warning takes it back; a busy kernel is activity now.
    (Run(started=at(0), last_activity=at(24), warned_at=at(20)), at(25), CLEAR, IDLE, at(54)),
    (Run(started=at(0), last_activity=at(0), busy=True), at(200), NONE, IDLE, at(230)),
    (Run(started=at(0), last_activity=at(0), busy=True, warned_at=at(20)), at(29), CLEAR, IDLE, at(59)),
    # Keep running moves the deadline to at least its end.
    (Run(started=at(0), last_activity=at(0), extended_until=at(85)), at(74), NONE, IDLE, at(85)),
    (Run(started=at(0), last_activity=at(0), extended_until=at(85)), at(75), WARN, IDLE, at(85)),
    # Maximum age wins over activity, busy or not.
    (Run(started=at(0), last_activity=at(715), busy=True), at(710), WARN, MAX_AGE, at(720)),
    (Run(started=at(0), last_activity=at(715), busy=True, warned_at=at(710)), at(720), CULL, MAX_AGE, at(720)),
    (Run(started=at(0), last_activity=at(715), busy=True, warned_at=at(710), extended_until=at(780)), at(721), CLEAR, MAX_AGE, at(780)),
])
def test_decide(run, now, action, kind, deadline):
    decision = decide(LIMITS, run, now)
    assert (decision.action, decision.kind, decision.deadline) == (action, kind, deadline)


def test_reasons_name_the_limit():
    assert decide(LIMITS, Run(started=at(0), last_activity=at(0)), at(20)).reason == "idle for 30 min"
    assert decide(LIMITS, Run(started=at(0), busy=True), at(715)).reason == "reached maximum age 12 h"


def test_no_limits_never_acts_and_forgets_old_warnings():
    never = Limits(idle_timeout=None, max_age=None, warning=10 * M, extension=60 * M)
    assert decide(never, Run(started=at(0)), at(10_000)).action == NONE
    assert decide(never, Run(started=at(0), warned_at=at(5)), at(10_000)).action == CLEAR


def test_a_short_timeout_is_warned_half_way_not_at_once():
    short = Limits(idle_timeout=4 * M, max_age=None, warning=10 * M, extension=60 * M)
    assert decide(short, Run(started=at(0), last_activity=at(0)), at(1)).action == NONE
    assert decide(short, Run(started=at(0), last_activity=at(0)), at(2)).action == WARN


@pytest.mark.parametrize("minutes, text", [(0, "0 min"), (30, "30 min"), (60, "1 h"), (90, "1 h 30 min"),
                                           (720, "12 h"), (1440, "1 d"), (3000, "2 d 2 h")])
def test_format_duration(minutes, text):
    assert format_duration(minutes * M) == text


def test_kernels_activity():
    kernels = [
        {"id": "a", "execution_state": "idle", "connections": 0, "last_activity": "2026-11-23T08:05:00.000000Z"},
        {"id": "b", "execution_state": "idle", "connections": 1, "last_activity": "2026-11-23T08:07:00+00:00"},
    ]
    assert kernels_activity(kernels, connected_is_active=False) == (at(7), False)
    assert kernels_activity(kernels, connected_is_active=True) == (at(7), True)
    assert kernels_activity([{**kernels[0], "execution_state": "busy"}], connected_is_active=False) == (at(5), True)
    assert kernels_activity([], connected_is_active=True) == (None, False)
    # Garbage from a server is ignored, never an exception.
    assert kernels_activity(["x", {"last_activity": "yesterday", "connections": "many"}], connected_is_active=True) == (None, False)


def test_parse_time():
    assert parse_time("2026-11-23T08:00:00Z") == T0
    assert parse_time("") is None and parse_time("soon") is None and parse_time("2026-11-23T08:00:00") is None
