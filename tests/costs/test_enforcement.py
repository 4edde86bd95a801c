"""Launches that would overshoot the budget are refused, one team at a time under a row lock."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from costs.services import budget_set
from tests.conftest import api_as, make_user
from tests.costs.conftest import spend
from workspaces import services as workspace_services
from workspaces.models import Workspace


def period_start():
    return timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def test_a_launch_that_would_overshoot_is_refused_with_the_remaining_budget(admin, alice, team, small, prices):
    budget_set(team=team, actor=admin, amount=1000, action="block_launches")  # 10.00 EUR; Small costs 0.21 EUR/h
    spend(team, 990, period_start() + timedelta(seconds=1))
    response = api_as(alice).post("/api/v1/workspaces/", {"name": "big", "profile": "Small"}, format="json")
    assert response.status_code == 400, response.json()
    message = response.json()["errors"]["budget"][0]
    assert "0.10 EUR remains" in message and "0.21 EUR" in message
    assert not Workspace.objects.exists()


def test_notify_only_never_blocks(admin, alice, team, small, prices):
    budget_set(team=team, actor=admin, amount=100, action="notify")
    spend(team, 5000, period_start() + timedelta(seconds=1))
    assert api_as(alice).post("/api/v1/workspaces/", {"name": "ok", "profile": "Small"}, format="json").status_code == 202


def test_other_teams_are_not_affected(admin, alice, carol, team, other_team, small, prices):
    budget_set(team=team, actor=admin, amount=0, action="block_launches")
    assert api_as(carol).post("/api/v1/workspaces/", {"name": "ok", "profile": "Small"}, format="json").status_code == 202
    assert api_as(alice).post("/api/v1/workspaces/", {"name": "no", "profile": "Small"}, format="json").status_code == 400


def test_starting_a_stopped_workspace_is_checked_too(admin, alice, team, small, prices):
    workspace = workspace_services.workspace_create(owner=alice, name="ws", profile=small)
    Workspace.objects.filter(pk=workspace.pk).update(desired_state="stopped", observed_state="stopped")
    budget_set(team=team, actor=admin, amount=1000, action="stop_workspaces")
    spend(team, 1000, period_start() + timedelta(seconds=1))
    response = api_as(alice).post(f"/api/v1/workspaces/{workspace.pk}/start/")
    assert response.status_code == 400 and "budget" in response.json()["errors"]
    # A grant makes room again.
    from costs.services import budget_grant_create
    budget_grant_create(team=team, actor=admin, amount=500, ends=timezone.now() + timedelta(days=1), reason="demo")
    assert api_as(alice).post(f"/api/v1/workspaces/{workspace.pk}/start/").status_code == 202


def test_running_workspaces_are_reserved(admin, alice, team, small, prices):
    # 0.50 EUR leaves room for two hours of Small (0.21 EUR each), not three.
    budget_set(team=team, actor=admin, amount=50, action="block_launches")
    workspace_services.workspace_create(owner=alice, name="one", profile=small)
    workspace_services.workspace_create(owner=alice, name="two", profile=small)
    with pytest.raises(ValidationError) as refused:
        workspace_services.workspace_create(owner=alice, name="three", profile=small)
    assert "budget" in refused.value.message_dict


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_launches_against_room_for_three(admin, team, small, prices):
    """Real PostgreSQL, 20 threads with their own connections, all released at once."""
    budget_set(team=team, actor=admin, amount=21 * 3 + 10, action="block_launches")  # room for three hours of Small
    users = [make_user(f"user{i}", team=team) for i in range(20)]
    barrier = threading.Barrier(len(users))
    outcomes = []

    def launch(user):
        try:
            barrier.wait()
            workspace_services.workspace_create(owner=user, name="parallel", profile=small)
            outcomes.append("started")
        except ValidationError as exc:
            outcomes.append("refused" if "budget" in exc.message_dict else repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=launch, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(outcomes)) == ["refused", "started"], outcomes
    assert outcomes.count("started") == 3
    assert Workspace.objects.filter(team=team).count() == 3
