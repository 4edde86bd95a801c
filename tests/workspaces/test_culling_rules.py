"""Culling settings, keep running and who may use it, without a hub: limits, scoping and bad input."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import api_as
from workspaces import environments
from workspaces.culling_services import KeepRunningRefused, workspace_keep_running
from workspaces.launch import launch_spec_for
from workspaces.models import Profile, Workspace


def warned_workspace(owner, team, profile, name="warned", **changes):
    """A running workspace that was warned about an automatic stop, as the sweep leaves it."""
    now = timezone.now()
    fields = dict(owner=owner, team=team, name=name, profile=profile, image=environments.DEFAULT, desired_state="running",
                  observed_state="running", generation=1, served_generation=1, started=now - timedelta(minutes=25),
                  cull_generation=1, cull_warned_at=now, cull_deadline=now + timedelta(minutes=10),
                  cull_reason="idle for 30 min")
    return Workspace.objects.create(**{**fields, **changes})


def test_profile_limits_fall_back_to_the_platform_defaults(db, settings):
    settings.PLATFORM_CULL_IDLE_MINUTES, settings.PLATFORM_CULL_MAX_AGE_HOURS = 45, 8
    settings.PLATFORM_CULL_WARNING_MINUTES, settings.PLATFORM_CULL_EXTENSION_MINUTES = 5, 30
    inherits = Profile.objects.create(name="Default", cpu="1", memory_bytes=2**30)
    own = Profile.objects.create(name="Own", cpu="1", memory_bytes=2**30, idle_timeout_minutes=10, max_age_hours=2)
    never = Profile.objects.create(name="Never", cpu="1", memory_bytes=2**30, idle_timeout_minutes=0, max_age_hours=0)
    limits = inherits.culling_limits()
    assert (limits.idle_timeout, limits.max_age, limits.warning, limits.extension) == (
        timedelta(minutes=45), timedelta(hours=8), timedelta(minutes=5), timedelta(minutes=30))
    assert (own.culling_limits().idle_timeout, own.culling_limits().max_age) == (timedelta(minutes=10), timedelta(hours=2))
    assert not never.culling_limits().active
    assert inherits.culling_summary == "idle 45 min (default) · max age 8 h (default)"
    assert never.culling_summary == "never when idle · no max age"


def test_the_launch_spec_carries_the_effective_idle_timeout(alice, team, small, settings):
    settings.PLATFORM_CULL_IDLE_MINUTES = 20
    workspace = warned_workspace(alice, team, small)
    assert launch_spec_for(workspace)["idle_timeout_seconds"] == 20 * 60


def test_the_sweep_is_scheduled():
    from django.conf import settings

    from portal.celery import app
    from workspaces import tasks  # noqa: F401 (registers the tasks)

    entry = settings.CELERY_BEAT_SCHEDULE["workspace-cull-idle"]
    assert entry["task"] in app.tasks
    assert entry["schedule"] == timedelta(seconds=settings.PLATFORM_CULL_SWEEP_SECONDS)


def test_keep_running_through_the_api(bob, team, small):
    workspace = warned_workspace(bob, team, small)
    response = api_as(bob).post(f"/api/v1/workspaces/{workspace.pk}/keep-running/")
    assert response.status_code == 200, response.json()
    assert response.json()["cull_warning"] is None
    workspace.refresh_from_db()
    assert workspace.kept_running and workspace.cull_extended_until > timezone.now() + timedelta(minutes=55)
    event = workspace.events.get(kind="kept_running")
    assert event.actor_username == "bob"
    again = api_as(bob).post(f"/api/v1/workspaces/{workspace.pk}/keep-running/")
    assert again.status_code == 409 and again.json()["errors"] == {}


def test_nobody_keeps_another_users_workspace_running(alice, bob, carol, team, small, client):
    workspace = warned_workspace(bob, team, small)
    for intruder in (alice, carol):  # a team admin of bob's team, and someone from another team
        assert api_as(intruder).post(f"/api/v1/workspaces/{workspace.pk}/keep-running/").status_code == 404
        client.force_login(intruder)
        assert client.post(f"/workspaces/{workspace.pk}/keep-running/").status_code == 404
        assert "data-cull-warning" not in client.get("/workspaces/").content.decode()
    assert api_as().post(f"/api/v1/workspaces/{workspace.pk}/keep-running/").status_code == 401
    workspace.refresh_from_db()
    assert workspace.cull_extended_until is None and workspace.cull_warning is not None
    assert not workspace.events.filter(kind="kept_running").exists()


def test_the_owner_keeps_it_running_from_the_page(bob, team, small, client):
    workspace = warned_workspace(bob, team, small)
    client.force_login(bob)
    page = client.get(f"/workspaces/{workspace.pk}/").content.decode()
    assert "stops at" in page and "idle for 30 min" in page and f"/workspaces/{workspace.pk}/keep-running/" in page
    response = client.post(f"/workspaces/{workspace.pk}/keep-running/", follow=True)
    assert "warned keeps running" in response.content.decode()
    assert "data-cull-warning" not in response.content.decode()


@pytest.mark.parametrize(("changes", "message"), [
    ({"observed_state": "stopped", "desired_state": "stopped"}, "Only a running workspace"),
    ({"cull_warned_at": None}, "no automatic stop to postpone"),
    ({"cull_extended_until": timezone.now()}, "already kept running once"),
])
def test_keep_running_is_refused_with_a_reason(bob, team, small, changes, message):
    workspace = warned_workspace(bob, team, small, **changes)
    response = api_as(bob).post(f"/api/v1/workspaces/{workspace.pk}/keep-running/")
    assert response.status_code == 409 and message in response.json()["detail"]


def test_a_warning_of_an_earlier_run_does_not_count(bob, team, small):
    # Restarted since the warning (generation 2): no banner, no extension to grant, and the new run's is unused.
    workspace = warned_workspace(bob, team, small, generation=2, served_generation=2, cull_extended_until=timezone.now())
    assert workspace.cull_warning is None and not workspace.kept_running
    with pytest.raises(KeepRunningRefused, match="no automatic stop"):
        workspace_keep_running(workspace=workspace, actor=bob)


def test_keep_running_only_takes_post(bob, team, small):
    workspace = warned_workspace(bob, team, small)
    assert api_as(bob).get(f"/api/v1/workspaces/{workspace.pk}/keep-running/").status_code == 405
    assert api_as(bob).post("/api/v1/workspaces/999999/keep-running/").status_code == 404


class TestProfileCullingFields:
    PAYLOAD = {"name": "Medium", "cpu": "2", "memory": "4G"}

    def test_defaults_and_own_values(self, admin):
        inherits = api_as(admin).post("/api/v1/profiles/", self.PAYLOAD, format="json").json()
        assert inherits["idle_timeout_minutes"] is None and inherits["max_age_hours"] is None
        own = api_as(admin).post("/api/v1/profiles/", {**self.PAYLOAD, "name": "Own", "idle_timeout_minutes": 15,
                                                       "max_age_hours": 12}, format="json")
        assert own.status_code == 201 and (own.json()["idle_timeout_minutes"], own.json()["max_age_hours"]) == (15, 12)

    @pytest.mark.parametrize(("change", "field"), [
        ({"idle_timeout_minutes": -1}, "idle_timeout_minutes"), ({"idle_timeout_minutes": "soon"}, "idle_timeout_minutes"),
        ({"max_age_hours": -3}, "max_age_hours"), ({"max_age_hours": 10**6}, "max_age_hours"),
        ({"max_age_hours": "12h"}, "max_age_hours"),
    ])
    def test_bad_values_name_the_field(self, admin, change, field):
        response = api_as(admin).post("/api/v1/profiles/", {**self.PAYLOAD, **change}, format="json")
        assert response.status_code == 400
        assert field in response.json()["errors"] and field in response.json()["detail"]

    def test_the_admin_page_sets_and_shows_them(self, admin, client):
        client.force_login(admin)
        response = client.post("/manage/profiles/", {"name": "Long", "cpu": "1", "memory": "2Gi", "gpus": 0, "disk": "10Gi",
                                                     "idle_timeout_minutes": "", "max_age_hours": 24, "hourly_price_hint": 0,
                                                     "enabled": "on", "all_teams": "on"}, follow=True)
        assert b"Profile Long was created" in response.content
        assert b"(default) \xc2\xb7 max age 1 d" in response.content
        profile = Profile.objects.get(name="Long")
        assert (profile.idle_timeout_minutes, profile.max_age_hours) == (None, 24)
        bad = client.post("/manage/profiles/", {"name": "Bad", "cpu": "1", "memory": "2Gi", "gpus": 0, "disk": "10Gi",
                                                "max_age_hours": -1, "hourly_price_hint": 0})
        assert bad.status_code == 200 and not Profile.objects.filter(name="Bad").exists()
        assert b"greater than or equal to 0" in bad.content
