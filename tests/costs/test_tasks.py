"""The metering task through a real Celery worker, its beat entry, and the currency setting."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from costs.models import BudgetAlert, UsageRecord
from costs.services import budget_set
from costs.tasks import costs_meter_task
from tests.costs.conftest import event, make_workspace, spend


def wait_for(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_beat_runs_the_metering_task():
    entry = settings.CELERY_BEAT_SCHEDULE["costs-meter-and-check"]
    assert entry["task"] == "costs.tasks.costs_meter_task"
    assert entry["schedule"] == timedelta(seconds=settings.PLATFORM_COSTS_METER_SECONDS)


def test_the_worker_meters_and_checks_budgets(celery_worker, admin, alice, team, small, prices):
    budget_set(team=team, actor=admin, amount=100, thresholds=[50], time_zone="UTC")
    workspace = make_workspace(alice, team, small)
    started = timezone.now() - timedelta(hours=1)
    event(workspace, "running", started)
    spend(team, 60, timezone.now() - timedelta(seconds=5), workspace_id=999999)
    costs_meter_task.delay()
    assert wait_for(lambda: UsageRecord.objects.filter(kind="compute").exists() and BudgetAlert.objects.exists())
    costs_meter_task.delay()  # again: at most a few seconds more, never the hour twice
    costs_meter_task.delay()
    time.sleep(1)
    assert BudgetAlert.objects.filter(kind="actual").count() == 1
    compute_ms = sum(UsageRecord.objects.filter(workspace_id=workspace.pk, kind="compute").values_list("duration_ms", flat=True))
    assert 3600 * 1000 <= compute_ms <= (timezone.now() - started) // timedelta(milliseconds=1)


def test_an_unknown_currency_stops_start_up(settings):
    from django.apps import apps

    settings.PLATFORM_CURRENCY = "XYZ"
    with pytest.raises(ImproperlyConfigured, match="PLATFORM_CURRENCY"):
        apps.get_app_config("costs").ready()
