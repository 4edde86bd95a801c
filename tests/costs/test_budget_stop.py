"""The stop_workspaces action follows the budget's state, not its alert history: whatever the order of
action changes, grants and alerts, a team over 100 % under stop_workspaces is warned, then stopped
after the grace; anything that ends that state cancels the pending stop (issue 11)."""

from datetime import datetime, timedelta, timezone

import pytest
from django.core import mail
from django.utils import timezone as django_timezone

from costs import enforcement
from costs.alerts import budget_check, budget_stop_for, budget_stop_mail
from costs.models import BudgetAlert, BudgetStop
from costs.services import budget_grant_create, budget_set
from tests.conftest import api_as
from tests.costs.conftest import make_workspace, spend
from tests.costs.test_tasks import wait_for
from workspaces.models import Workspace, WorkspaceEvent

UTC = timezone.utc
NOW = datetime(2026, 11, 11, tzinfo=UTC)  # ten days into November's period (UTC)
GRACE = timedelta(minutes=30)
T0 = datetime(2026, 11, 11, 9, tzinfo=UTC)


@pytest.mark.parametrize("stops, over, pending, now, expected", [
    # (action is stop_workspaces, at or over 100 %, pending deadline, now) -> decision
    (False, False, None, T0, enforcement.Decision(enforcement.NONE)),
    (False, True, None, T0, enforcement.Decision(enforcement.NONE)),  # notify / block: no stop however far over
    (True, False, None, T0, enforcement.Decision(enforcement.NONE)),
    (True, True, None, T0, enforcement.Decision(enforcement.WARN, T0 + GRACE)),  # the grace starts now
    (True, True, T0 + GRACE, T0 + GRACE - timedelta(seconds=1), enforcement.Decision(enforcement.NONE)),
    (True, True, T0 + GRACE, T0 + GRACE, enforcement.Decision(enforcement.STOP)),
    (True, True, T0, T0 + timedelta(days=3), enforcement.Decision(enforcement.STOP)),  # every pass while over
    (True, False, T0 + GRACE, T0, enforcement.Decision(enforcement.CANCEL)),  # a grant or a new period
    (False, True, T0 + GRACE, T0, enforcement.Decision(enforcement.CANCEL)),  # another action
    (False, False, T0, T0 + GRACE, enforcement.Decision(enforcement.CANCEL)),
])
def test_decision_table(stops, over, pending, now, expected):
    assert enforcement.decide(stops_workspaces=stops, over=over, stop_after=pending, grace=GRACE, now=now) == expected


@pytest.fixture
def running(alice, team, small):
    return make_workspace(alice, team, small, name="model", desired_state="running", observed_state="running")


def state(workspace):
    return Workspace.objects.get(pk=workspace.pk).desired_state


def events(workspace, kind):
    return list(WorkspaceEvent.objects.filter(workspace=workspace, kind=kind).values_list("message", flat=True))


def over_budget(admin, team, action):
    budget = budget_set(team=team, actor=admin, amount=1000, action=action, grace_minutes=30, time_zone="UTC")
    spend(team, 1000, NOW - timedelta(days=1))  # 100 % of 10.00 EUR
    return budget


def test_notify_then_stop_warns_and_stops_after_the_grace(admin, team, running):
    """The reported case: the 100 % alert fired under notify; switching to stop_workspaces later must
    still warn and then stop, although no new alert fires."""
    budget = over_budget(admin, team, "notify")
    budget_check(budget=budget, now=NOW)
    assert BudgetAlert.objects.filter(kind="actual", threshold=100).exists()
    assert budget_stop_for(team_id=team.pk) is None and state(running) == "running"

    switched = NOW + timedelta(hours=5)
    budget = budget_set(team=team, actor=admin, amount=1000, action="stop_workspaces", grace_minutes=30, time_zone="UTC")
    alerts = BudgetAlert.objects.count()
    assert budget_check(budget=budget, now=switched) == 0 and BudgetAlert.objects.count() == alerts  # one alert per threshold
    assert budget_stop_for(team_id=team.pk).stop_after == switched + GRACE
    assert len(events(running, "budget_warning")) == 1
    assert budget_stop_mail(team_id=team.pk, warned_at=switched) == 1
    assert [m.to for m in mail.outbox if "will be stopped" in m.subject] == [["alice@example.org"]]

    budget_check(budget=budget, now=switched + GRACE - timedelta(minutes=1))
    assert state(running) == "running"
    assert len(events(running, "budget_warning")) == 1  # a repeated pass warns nobody twice
    budget_check(budget=budget, now=switched + GRACE)
    assert state(running) == "stopped"
    assert "budget" in events(running, "stop_requested")[0]


def test_block_then_stop_starts_the_grace_at_the_switch(admin, team, running):
    budget = over_budget(admin, team, "block_launches")
    budget_check(budget=budget, now=NOW)
    budget_check(budget=budget, now=NOW + timedelta(days=1))
    assert state(running) == "running" and budget_stop_for(team_id=team.pk) is None

    switched = NOW + timedelta(days=2)
    budget = budget_set(team=team, actor=admin, amount=1000, action="stop_workspaces", grace_minutes=30, time_zone="UTC")
    budget_check(budget=budget, now=switched)
    # Hours over the limit under "block" do not count towards the grace: the owners get all of it.
    assert budget_stop_for(team_id=team.pk).stop_after == switched + GRACE
    budget_check(budget=budget, now=switched + GRACE - timedelta(seconds=1))
    assert state(running) == "running"
    budget_check(budget=budget, now=switched + GRACE)
    assert state(running) == "stopped"


def test_stop_then_notify_cancels_the_pending_stop(admin, team, running):
    budget = over_budget(admin, team, "stop_workspaces")
    budget_check(budget=budget, now=NOW)
    assert budget_stop_for(team_id=team.pk) is not None

    budget = budget_set(team=team, actor=admin, amount=1000, action="notify", grace_minutes=30, time_zone="UTC")
    budget_check(budget=budget, now=NOW + timedelta(minutes=10))
    assert budget_stop_for(team_id=team.pk) is None
    assert len(events(running, "budget_warning_cleared")) == 1
    assert budget_stop_mail(team_id=team.pk, warned_at=NOW) == 0  # a late mail task sends nothing
    budget_check(budget=budget, now=NOW + timedelta(days=1))
    assert state(running) == "running"

    # Back to stop_workspaces: a fresh warning with the full grace, not the old deadline.
    back = NOW + timedelta(days=2)
    budget = budget_set(team=team, actor=admin, amount=1000, action="stop_workspaces", grace_minutes=30, time_zone="UTC")
    budget_check(budget=budget, now=back)
    assert budget_stop_for(team_id=team.pk).stop_after == back + GRACE
    assert len(events(running, "budget_warning")) == 2
    budget_check(budget=budget, now=back + GRACE)
    assert state(running) == "stopped"


def test_a_grant_mid_grace_cancels_and_the_next_overrun_warns_afresh(admin, team, running):
    budget = over_budget(admin, team, "stop_workspaces")
    budget_check(budget=budget, now=NOW)
    assert budget_stop_for(team_id=team.pk).stop_after == NOW + GRACE

    mid = NOW + timedelta(minutes=15)
    budget_grant_create(team=team, actor=admin, amount=500, starts=mid, ends=NOW + timedelta(days=5), reason="Paper deadline")
    budget_check(budget=budget, now=mid)
    assert budget_stop_for(team_id=team.pk) is None
    budget_check(budget=budget, now=NOW + GRACE + timedelta(minutes=1))
    assert state(running) == "running"

    # The grant is spent too: over again, so warned again with a grace from now.
    again = NOW + timedelta(hours=3)
    spend(team, 500, again - timedelta(minutes=1))
    budget_check(budget=budget, now=again)
    assert budget_stop_for(team_id=team.pk).stop_after == again + GRACE
    assert BudgetAlert.objects.filter(kind="actual", threshold=100).count() == 1  # the alert is not repeated
    budget_check(budget=budget, now=again + GRACE)
    assert state(running) == "stopped"


def test_no_grace_warns_and_stops_in_one_pass(admin, team, running):
    budget = budget_set(team=team, actor=admin, amount=1000, action="stop_workspaces", grace_minutes=0, time_zone="UTC")
    spend(team, 1000, NOW - timedelta(days=1))
    budget_check(budget=budget, now=NOW)
    assert len(events(running, "budget_warning")) == 1 and state(running) == "stopped"


def test_a_new_period_cancels_a_carried_out_stop(admin, team, running):
    budget = over_budget(admin, team, "stop_workspaces")
    budget_check(budget=budget, now=NOW)
    budget_check(budget=budget, now=NOW + GRACE)
    assert state(running) == "stopped" and BudgetStop.objects.get().stopped_at == NOW + GRACE
    budget_check(budget=budget, now=datetime(2026, 12, 1, 0, 1, tzinfo=UTC))
    assert budget_stop_for(team_id=team.pk) is None


def test_another_teams_state_is_its_own(admin, carol, team, other_team, small, running):
    elsewhere = make_workspace(carol, other_team, small, name="c", desired_state="running", observed_state="running")
    budget = over_budget(admin, team, "stop_workspaces")
    other = budget_set(team=other_team, actor=admin, amount=1000, action="stop_workspaces", grace_minutes=30, time_zone="UTC")
    budget_check(budget=budget, now=NOW)
    budget_check(budget=other, now=NOW)
    budget_check(budget=budget, now=NOW + GRACE)
    budget_check(budget=other, now=NOW + GRACE)
    assert (state(running), state(elsewhere)) == ("stopped", "running")
    assert events(elsewhere, "budget_warning") == []


@pytest.mark.django_db(transaction=True)
def test_a_grant_through_the_api_cancels_the_stop_at_once(celery_worker, admin, team, running):
    """No waiting for the next metering pass: the grant's commit queues the enforcement (real worker)."""
    now = django_timezone.now()
    budget = budget_set(team=team, actor=admin, amount=1000, action="stop_workspaces", grace_minutes=30)
    spend(team, 1000, now)
    budget_check(budget=budget, now=now)
    assert budget_stop_for(team_id=team.pk) is not None
    response = api_as(admin).post(f"/api/v1/teams/{team.pk}/budget/grants/",
                                  {"amount": 500, "ends": (now + timedelta(days=1)).isoformat(), "reason": "Launch week"},
                                  format="json")
    assert response.status_code == 201, response.json()
    assert wait_for(lambda: budget_stop_for(team_id=team.pk) is None)
    # The workspaces hear of it just after the stop row goes (their events follow the commit).
    assert wait_for(lambda: len(events(running, "budget_warning_cleared")) == 1)
    assert state(running) == "running"
