"""End to end through a real JupyterHub: costs accrue while a workspace runs, and at 100 % of a
stop_workspaces budget the workspace stops and new launches are refused."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from costs.alerts import budgets_check
from costs.metering import metering_run
from costs.models import MeterRun, UsageRecord
from tests.conftest import api_as
from tests.costs.conftest import spend
from tests.workspaces.test_hub_lifecycle import wait_for_status
from workspaces.reconciler import workspace_reconcile_all

pytestmark = pytest.mark.hub


def test_costs_accrue_live_and_the_budget_stops_the_workspace(hub, celery_worker, admin, alice, team, small, prices,
                                                                   settings):
    assert api_as(admin).put(f"/api/v1/teams/{team.id}/budget/", {"amount": 1000, "action": "stop_workspaces",
                                                                    "grace_minutes": 0}, format="json").status_code == 200
    client = api_as(alice)
    workspace_id = client.post("/api/v1/workspaces/", {"name": "metered", "profile": "Small"}, format="json").json()["id"]
    wait_for_status(client, workspace_id, "running")
    # A run is billed up to where it was last seen alive (by the janitor, allowing for the hub's poll).
    time.sleep(settings.PLATFORM_SPAWNER_POLL_INTERVAL + 1)
    workspace_reconcile_all()
    metering_run()
    first = UsageRecord.objects.filter(workspace_id=workspace_id, kind="compute").count()
    assert first >= 1
    time.sleep(1)
    workspace_reconcile_all()
    metering_run()
    compute = UsageRecord.objects.filter(workspace_id=workspace_id, kind="compute")
    assert compute.count() > first and sum(compute.values_list("cost_micros", flat=True)) > 0  # current while it runs

    spend(team, 1000, timezone.now() - timedelta(seconds=1), workspace_id=10**8)  # the rest of the month's spend
    budgets_check()
    wait_for_status(client, workspace_id, "stopped")
    refused = client.post("/api/v1/workspaces/", {"name": "another", "profile": "Small"}, format="json")
    assert refused.status_code == 400 and "remains" in refused.json()["errors"]["budget"][0]
    assert client.post(f"/api/v1/workspaces/{workspace_id}/start/").status_code == 400

    metering_run()
    span = MeterRun.objects.get(workspace_id=workspace_id, kind="compute")
    events = client.get(f"/api/v1/workspaces/{workspace_id}/events/").json()["results"]
    stopped_at = next(e["created"] for e in events if e["kind"] == "stopped")
    assert span.end is not None and span.end.isoformat().replace("+00:00", "Z") == stopped_at
    assert any(e["kind"] == "stop_requested" and "budget" in e["message"] for e in events)
