"""A real Prometheus scrapes the portal and the hub: launches are counted with their duration, failures
with their reason; the shipped rules load; every query of the shipped dashboard returns a series."""

import json
import subprocess

import pytest

from costs.services import budget_set
from observability.prometheus_server import DASHBOARD, RULE_FILES
from tests.conftest import api_as, make_user
from tests.workspaces.test_hub_lifecycle import wait_for_status
from workspaces.models import Profile

pytestmark = pytest.mark.hub


def test_the_shipped_rule_files_pass_promtool():
    for path in RULE_FILES:
        result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "SUCCESS: 7 rules found" in result.stdout


def test_a_launch_is_counted_with_its_duration_and_a_failed_one_with_its_reason(prometheus, celery_worker, alice, team):
    Profile.objects.create(name="Metered", cpu="0.5", memory_bytes=512 * 2**20, disk_bytes=2**30)
    Profile.objects.create(name="Metered GPU", cpu="1", memory_bytes=2**30, gpus=1, gpu_type="h100")
    client = api_as(alice)
    launched = client.post("/api/v1/workspaces/", {"name": "metered", "profile": "Metered"}, format="json").json()
    needs_gpu = client.post("/api/v1/workspaces/", {"name": "metered-gpu", "profile": "Metered GPU"}, format="json").json()
    wait_for_status(client, launched["id"], "running")
    wait_for_status(client, needs_gpu["id"], "failed", timeout=60)

    ((_, count),) = prometheus.wait_for('dsw_launches_total{outcome="running", profile="Metered"}', "the launch")
    assert count == 1
    ((_, seconds),) = prometheus.wait_for('dsw_launch_duration_seconds_sum{profile="Metered"}', "its duration")
    ((_, observed),) = prometheus.query('dsw_launch_duration_seconds_count{profile="Metered"}')
    assert observed == 1 and 0 < seconds
    ((labels, failed),) = prometheus.wait_for('dsw_launch_failures_total{profile="Metered GPU"}', "the failed launch")
    assert (labels["reason"], failed) == ("no_gpu", 1)
    ((_, failed_launches),) = prometheus.query('dsw_launches_total{outcome="failed", profile="Metered GPU"}')
    assert failed_launches == 1
    states = dict((labels["status"], value) for labels, value in
                  prometheus.wait_for('dsw_workspaces{team="data-science", profile=~"Metered.*"}', "the workspaces"))
    assert states == {"running": 1, "failed": 1}
    # The hub's own metrics, scraped with the same token.
    assert prometheus.wait_for('up{job="jupyterhub"} == 1', "the hub's /hub/metrics")
    assert prometheus.wait_for("jupyterhub_running_servers", "a series of the hub's own")

    client.delete(f"/api/v1/workspaces/{launched['id']}/")
    client.delete(f"/api/v1/workspaces/{needs_gpu['id']}/")


def test_every_query_of_the_dashboard_returns_a_series(prometheus, celery_worker, team, alice):
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["panels"]
    budget_set(team=team, actor=make_user("budget-admin", is_staff=True), amount=50_000, currency="EUR")
    client = api_as(alice)
    # A launch's series (and a refused one's) exist whatever ran before in this session.
    Profile.objects.create(name="Dashboard", cpu="0.5", memory_bytes=512 * 2**20, disk_bytes=2**30)
    workspace = client.post("/api/v1/workspaces/", {"name": "dashboard", "profile": "Dashboard"}, format="json").json()
    wait_for_status(client, workspace["id"], "running")
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(queries) >= 14
    missing = []
    for expr in queries:
        try:
            prometheus.wait_for(expr, "a dashboard query", timeout=45)
        except AssertionError:
            missing.append(expr)
    client.delete(f"/api/v1/workspaces/{workspace['id']}/")
    assert not missing, f"queries with no series: {missing}; targets: {prometheus.targets()}"
