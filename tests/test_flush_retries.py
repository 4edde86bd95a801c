"""The teardown flush of database tests is tried again after a deadlock (tests/conftest.py), and only then."""

import pytest
from django.core.management.base import CommandError
from django.db import OperationalError, ProgrammingError

from tests.conftest import _flush_with_retries


def failing(times, cause):
    calls = []

    def flush(test_case):
        calls.append(test_case)
        if len(calls) <= times:
            raise CommandError("Database couldn't be flushed") from cause
        return "flushed"

    return flush, calls


def test_a_flush_that_lost_a_deadlock_is_tried_again(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    flush, calls = failing(2, OperationalError("deadlock detected"))
    assert _flush_with_retries(flush)("case") == "flushed"
    assert calls == ["case"] * 3


def test_a_flush_that_keeps_failing_or_fails_for_another_reason_raises(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    flush, calls = failing(10, OperationalError("deadlock detected"))
    with pytest.raises(CommandError):
        _flush_with_retries(flush)("case")
    assert len(calls) == 5
    flush, calls = failing(1, ProgrammingError("relation does not exist"))
    with pytest.raises(CommandError):
        _flush_with_retries(flush)("case")
    assert len(calls) == 1
