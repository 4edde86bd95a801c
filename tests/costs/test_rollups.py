"""Hourly roll-ups (costs/rollups.py): reports, budgets and 'cost so far' read them, and they are exactly
the plain aggregate over the raw ledger, to the micro-unit.

The property test meters random lifecycles (several workspaces, people, profiles and projects, restarts,
price changes, passes at random moments, some repeated) for a team in a random time zone, including
zones half or three quarters of an hour off UTC, then compares every report grouping over random
ranges (hour-aligned or not) with sums computed here, in Python, from the raw records."""

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from costs import rollups
from costs.metering import cost_so_far_micros, metering_run
from costs.models import PriceSheet, UsageRecord, UsageRollup
from costs.pricing import micros_to_minor
from costs.selectors import GROUPS, NO_PROJECT, cost_report
from costs.services import project_spent_micros, team_spent_micros
from portal.accounts.models import Membership
from projects.models import Project
from tests.conftest import make_user
from tests.costs.conftest import event, make_workspace
from workspaces.models import Profile

UTC = timezone.utc
T0 = datetime(2026, 10, 30, 20, 0, tzinfo=UTC)  # the weekend Europe's clocks go back
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Adelaide",
         "Pacific/Chatham"]
minutes = st.integers(min_value=0, max_value=3 * 24 * 60)

lifecycle = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1), st.sampled_from([None, 0, 1]),
                               st.lists(st.tuples(minutes, st.integers(1, 600)), min_size=1, max_size=3)),
                     min_size=1, max_size=4)
ledger_case = st.fixed_dictionaries({
    "zone": st.sampled_from(ZONES),
    "workspaces": lifecycle,
    "price_changes": st.lists(minutes, max_size=2),
    "passes": st.lists(minutes, min_size=1, max_size=4),
    "ranges": st.lists(st.tuples(st.integers(-600, 3 * 24 * 60), st.integers(1, 3 * 24 * 60)), min_size=1, max_size=3),
})


def expected_report(team, start, end, group_by, project=None):
    """The report computed the slow, obvious way: every raw record, summed in Python."""
    records = UsageRecord.objects.filter(team_id=team.pk, start__gte=start, start__lt=end)
    if project is not None:
        records = records.filter(project_id=project.pk)
    sums = defaultdict(lambda: [0, 0, 0])
    for record in records:
        if group_by == "day":
            key = record.start.astimezone(ZoneInfo(team.time_zone)).date().isoformat()
        else:
            key = getattr(record, GROUPS[group_by][0])
        sums[key][0] += record.cost_micros
        sums[key][1] += record.duration_ms
        sums[key][2] += 1
    total = micros_to_minor(sum(micros for micros, _, _ in sums.values()))
    return {key: (micros_to_minor(micros), round(ms / 3_600_000, 3), count) for key, (micros, ms, count) in sums.items()}, total


def reported(groups):
    return {group["key"]: (group["cost"], group["hours"], group["records"]) for group in groups}


@pytest.fixture
def people(team):
    return [make_user(f"person{index}", team=team) for index in range(3)]


@pytest.fixture
def sizes(db):
    return [Profile.objects.create(name="Small", cpu="1", memory_bytes=2 * 2**30, disk_bytes=10 * 2**30),
            Profile.objects.create(name="Large", cpu="3.5", memory_bytes=7 * 2**30 + 12345, gpus=1, gpu_type="h100",
                                   disk_bytes=3 * 2**30 + 1)]


@pytest.fixture
def projects(team, people):
    made = [Project.objects.create(team=team, name=f"P{index}", slug=f"p{index}") for index in range(2)]
    return made


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=ledger_case)
def test_reports_from_rollups_equal_the_raw_ledger_to_the_cent(team, people, sizes, projects, case):
    with transaction.atomic():  # each example starts from an empty ledger
        team.time_zone = case["zone"]
        team.save(update_fields=["time_zone"])
        PriceSheet.objects.create(effective_from=T0 - timedelta(days=30), currency="EUR", cpu_core_hour=7,
                                  memory_gib_hour=3, gpu_hour={"h100": 301}, storage_gib_month=73)
        for index, minute in enumerate(case["price_changes"]):
            PriceSheet.objects.get_or_create(effective_from=T0 + timedelta(minutes=minute, seconds=index), defaults={
                "currency": "EUR", "cpu_core_hour": 11 + index, "memory_gib_hour": 5, "gpu_hour": {"": 97},
                "storage_gib_month": 91})
        for index, (person, size, project, runs) in enumerate(case["workspaces"]):
            workspace = make_workspace(people[person], team, sizes[size], name=f"ws{index}",
                                       project=None if project is None else projects[project])
            event(workspace, "created", T0 - timedelta(minutes=5))
            for start, length in sorted(runs):
                event(workspace, "running", T0 + timedelta(minutes=start, seconds=7))
                event(workspace, "stopped", T0 + timedelta(minutes=start + length, seconds=13))
        for minute in sorted(case["passes"]) + [max(case["passes"])]:  # the last pass twice: it adds nothing
            metering_run(now=T0 + timedelta(minutes=minute, seconds=31))
        assert UsageRollup.objects.filter(team_id=team.pk).count() <= UsageRecord.objects.filter(team_id=team.pk).count()

        for offset, length in case["ranges"]:
            start = T0 + timedelta(minutes=offset, seconds=offset % 7 * 10)
            end = start + timedelta(minutes=length)
            for group_by in ("user", "profile", "image", "day", "workspace", "project"):
                groups, total = cost_report(team=team, start=start, end=end, group_by=group_by)
                expected, expected_total = expected_report(team, start, end, group_by)
                assert (reported(groups), total) == (expected, expected_total), (group_by, start, end)
            groups, total = cost_report(team=team, start=start, end=end, group_by="user", project=projects[0])
            assert (reported(groups), total) == expected_report(team, start, end, "user", project=projects[0])
            assert team_spent_micros(team_id=team.pk, start=start, end=end) == sum(
                UsageRecord.objects.filter(team_id=team.pk, start__gte=start, start__lt=end).values_list("cost_micros", flat=True))
            assert project_spent_micros(project_id=projects[1].pk, start=start, end=end) == sum(
                UsageRecord.objects.filter(project_id=projects[1].pk, start__gte=start, start__lt=end)
                .values_list("cost_micros", flat=True))
        workspace_ids = list(UsageRecord.objects.values_list("workspace_id", flat=True).distinct())
        lifetime = defaultdict(int)
        for workspace_id, micros in UsageRecord.objects.values_list("workspace_id", "cost_micros"):
            lifetime[workspace_id] += micros
        assert cost_so_far_micros(workspace_ids=workspace_ids) == dict(lifetime)
        transaction.set_rollback(True)


def test_a_rebuild_gives_the_rollups_metering_kept(alice, team, small, prices, project_in_team):
    workspace = make_workspace(alice, team, small, project=project_in_team)
    event(workspace, "created", T0)
    event(workspace, "running", T0 + timedelta(minutes=3))
    metering_run(now=T0 + timedelta(hours=2, minutes=10))
    event(workspace, "stopped", T0 + timedelta(hours=5, minutes=1))
    metering_run(now=T0 + timedelta(hours=6))
    columns = ("hour", "digest", *rollups.DIMENSIONS, "cost_micros", "duration_ms", "records")
    kept = sorted(UsageRollup.objects.values_list(*columns))
    # The pass at 22:10 cut that hour's slice in two: one roll-up row sums both.
    assert [row[-1] for row in kept if row[2] == "compute" and row[0] == T0 + timedelta(hours=2)] == [2]
    call_command("costs_rebuild_rollups", stdout=open("/dev/null", "w"))
    assert sorted(UsageRollup.objects.values_list(*columns)) == kept


def test_a_failed_pass_adds_nothing_to_the_rollups(alice, team, small, prices, monkeypatch):
    workspace = make_workspace(alice, team, small)
    event(workspace, "running", T0)

    def fail(records):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(rollups, "add", fail)
    with pytest.raises(RuntimeError):
        metering_run(now=T0 + timedelta(hours=1))
    assert not UsageRecord.objects.exists() and not UsageRollup.objects.exists()
    monkeypatch.undo()
    metering_run(now=T0 + timedelta(hours=1))
    assert UsageRollup.objects.get().cost_micros == sum(UsageRecord.objects.values_list("cost_micros", flat=True))


def test_a_project_report_labels_usage_outside_projects(alice, team, small, prices):
    workspace = make_workspace(alice, team, small)
    event(workspace, "running", T0)
    metering_run(now=T0 + timedelta(minutes=90))
    groups, _ = cost_report(team=team, start=T0, end=T0 + timedelta(hours=2), group_by="project")
    assert [(group["key"], group["label"]) for group in groups] == [(None, NO_PROJECT)]


@pytest.fixture
def project_in_team(team, alice):
    Membership.objects.get_or_create(team=team, user=alice)
    return Project.objects.create(team=team, name="Churn", slug="churn")
