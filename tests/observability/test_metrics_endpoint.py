"""/metrics: refused without the token, the database's state in a bounded number of queries, and one
registry across processes (multiprocess mode, as under gunicorn and Celery)."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from observability.views import metrics_registry
from portal.accounts.models import Team
from tests.conftest import make_user
from workspaces.models import Profile, Workspace

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def scrape(client, token):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.content.decode()) for sample in family.samples}


@pytest.mark.parametrize("header, status", [
    (None, 401),
    ("Bearer", 401),
    ("Basic dXNlcjpwYXNz", 401),
    ("Bearer not-the-token", 403),
])
def test_metrics_are_refused_without_the_token(client, db, settings, header, status):
    settings.PLATFORM_METRICS_TOKEN = "s3cret-metrics-token"
    response = client.get("/metrics", **({"HTTP_AUTHORIZATION": header} if header else {}))
    assert response.status_code == status
    assert b"dsw_" not in response.content
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_metrics_are_off_without_a_configured_token(client, db, settings):
    settings.PLATFORM_METRICS_TOKEN = ""
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 403 and b"PLATFORM_METRICS_TOKEN" in response.content


def _workspaces(count, *, profiles, teams):
    now = timezone.now()
    for index in range(count):
        team = teams[index % len(teams)]
        owner = make_user(f"user{Workspace.objects.count()}", team=team)
        Workspace.objects.create(owner=owner, team=team, name=f"ws{index}", profile=profiles[index % len(profiles)],
                                 image="local:default", desired_state="running",
                                 observed_state=["running", "starting", "failed"][index % 3], start_requested=now)


def test_workspaces_and_budgets_are_read_in_a_bounded_number_of_queries(client, db, settings):
    from costs.services import budget_set

    settings.PLATFORM_METRICS_TOKEN = "s3cret-metrics-token"
    admin = make_user("root-admin", is_staff=True)
    teams = [Team.objects.create(name=f"Team {n}", slug=f"team-{n}") for n in range(3)]
    profiles = [Profile.objects.create(name=f"Size {n}", cpu="1", memory_bytes=2**30) for n in range(2)]
    budget_set(team=teams[0], actor=admin, amount=10_000, currency="EUR")

    _workspaces(3, profiles=profiles, teams=teams)
    with CaptureQueriesContext(connection) as few:
        samples = scrape(client, settings.PLATFORM_METRICS_TOKEN)
    assert samples[("dsw_workspaces", (("profile", "Size 0"), ("status", "running"), ("team", "team-0")))] == 1
    assert samples[("dsw_budget_limit", (("currency", "EUR"), ("team", "team-0")))] == 100.0
    assert samples[("dsw_budget_utilisation_ratio", (("team", "team-0"),))] == 0.0

    _workspaces(30, profiles=profiles, teams=teams)
    for team in teams[1:]:
        budget_set(team=team, actor=admin, amount=5_000, currency="EUR")
    with CaptureQueriesContext(connection) as many:
        samples = scrape(client, settings.PLATFORM_METRICS_TOKEN)
    assert sum(value for (name, _), value in samples.items() if name == "dsw_workspaces") == 33
    assert len([name for name, _ in samples if name == "dsw_budget_limit"]) == 3
    # Ten times the workspaces and three times the budgets: not one query more.
    assert len(many.captured_queries) == len(few.captured_queries), [q["sql"] for q in many.captured_queries]


def test_deleted_workspaces_are_left_out(client, db, settings, team):
    settings.PLATFORM_METRICS_TOKEN = "s3cret-metrics-token"
    profile = Profile.objects.create(name="Tiny", cpu="1", memory_bytes=2**30)
    owner = make_user("dora", team=team)
    Workspace.objects.create(owner=owner, team=team, name="gone", profile=profile, image="local:default",
                             desired_state="deleted", observed_state="stopped",
                             start_requested=timezone.now() - timedelta(hours=1))
    samples = scrape(client, settings.PLATFORM_METRICS_TOKEN)
    assert not [key for key in samples if key[0] == "dsw_workspaces"]


_RECORD = """
import os, sys
sys.path[:0] = [{root!r}, os.path.join({root!r}, "platform")]
os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
import django
django.setup()
from observability import metrics
for _ in range({times}):
    metrics.task_ran(task="tests.multiprocess", outcome="success", seconds=0.01)
"""


def test_counters_of_several_processes_add_up_in_one_registry(tmp_path):
    """What gunicorn's workers and Celery's do: each process writes its own file, /metrics merges them."""
    folder = tmp_path / "metrics"
    folder.mkdir(mode=0o700)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    processes = [subprocess.Popen([sys.executable, "-c", _RECORD.format(root=ROOT, times=times)], env=env)
                 for times in (2, 5)]
    assert [process.wait(60) for process in processes] == [0, 0]
    assert len(list(folder.glob("counter_*.db"))) == 2
    registry = metrics_registry(str(folder))
    value = registry.get_sample_value("dsw_celery_tasks_total", {"task": "tests.multiprocess", "outcome": "success"})
    assert value == 7
    assert all(oct(path.stat().st_mode)[-3:] == "600" for path in folder.iterdir())


def test_a_worker_pod_serves_its_task_metrics_with_the_same_token(tmp_path, settings):
    """On Kubernetes each worker pod keeps its own metric files: its main process serves them."""
    import requests

    from observability.worker_server import worker_metrics_serve

    settings.PLATFORM_METRICS_TOKEN = "s3cret-metrics-token"
    folder = tmp_path / "metrics"
    folder.mkdir(mode=0o700)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    assert subprocess.run([sys.executable, "-c", _RECORD.format(root=ROOT, times=3)], env=env).returncode == 0
    saved = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    server = worker_metrics_serve(port=0, host="127.0.0.1")
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        assert requests.get(url, timeout=5).status_code == 401
        assert requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 403
        answer = requests.get(url, headers={"Authorization": "Bearer s3cret-metrics-token"}, timeout=5)
    finally:
        server.shutdown()
        server.server_close()
        if saved is None:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR")
        else:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = saved
    assert answer.status_code == 200
    assert 'dsw_celery_tasks_total{outcome="success",task="tests.multiprocess"} 3.0' in answer.text
    assert "dsw_workspaces" not in answer.text  # the database's state is the portal's to serve, once


def test_launches_refused_by_the_budget_are_counted_with_their_reason(client, db, settings, team, alice):
    from costs.models import PriceSheet
    from costs.services import budget_set
    from observability.metrics import REGISTRY
    from tests.conftest import api_as

    settings.PLATFORM_METRICS_TOKEN = "s3cret-metrics-token"
    Profile.objects.create(name="Pricey", cpu="2", memory_bytes=2**30)
    PriceSheet.objects.create(effective_from=timezone.now() - timedelta(hours=1), currency="EUR", cpu_core_hour=1000,
                              memory_gib_hour=0, storage_gib_month=0)
    budget_set(team=team, actor=make_user("budgets", is_staff=True), amount=100, currency="EUR", action="block_launches")
    labels = {"outcome": "refused", "profile": "Pricey"}
    before = REGISTRY.get_sample_value("dsw_launches_total", labels) or 0
    refused = api_as(alice).post("/api/v1/workspaces/", {"name": "too-big", "profile": "Pricey"}, format="json")
    assert refused.status_code == 400 and "budget" in refused.json()["errors"]
    assert REGISTRY.get_sample_value("dsw_launches_total", labels) == before + 1
    samples = scrape(client, settings.PLATFORM_METRICS_TOKEN)
    assert samples[("dsw_launch_failures_total", (("profile", "Pricey"), ("reason", "budget")))] >= 1
