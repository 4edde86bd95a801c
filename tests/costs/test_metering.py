"""The usage ledger: built from lifecycle events, idempotent, split at hours and price changes,
current while a workspace runs, and never counting a second twice."""

import threading
from datetime import datetime, timedelta, timezone

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Sum

from costs.metering import metering_run
from costs.models import MeterRun, PriceSheet, UsageRecord
from portal.accounts.models import Membership
from tests.costs.conftest import event, make_workspace

UTC = timezone.utc
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def totals(kind="compute"):
    records = UsageRecord.objects.filter(kind=kind)
    agg = records.aggregate(ms=Sum("duration_ms"), micros=Sum("cost_micros"))
    return agg["ms"] or 0, agg["micros"] or 0


def assert_no_overlap():
    for run in MeterRun.objects.all():
        records = list(run.records.order_by("start"))
        for before, after in zip(records, records[1:]):
            assert before.end == after.start


def test_a_run_is_metered_from_running_to_stopped(alice, team, small, prices):
    ws = make_workspace(alice, team, small)
    event(ws, "created", T0)
    event(ws, "spawn_requested", T0 + timedelta(seconds=5))
    event(ws, "running", T0 + timedelta(minutes=10))
    event(ws, "stop_requested", T0 + timedelta(hours=2, minutes=30))
    event(ws, "stopping", T0 + timedelta(hours=2, minutes=30, seconds=1))
    event(ws, "stopped", T0 + timedelta(hours=2, minutes=35))
    metering_run(now=T0 + timedelta(hours=3))
    ms, micros = totals()
    assert ms == (2 * 3600 + 25 * 60) * 1000
    assert micros == 21_000_000 * (2 * 60 + 25) // 60 - 1_000_000 * (2 * 60 + 25) // 60  # compute is 20 c/h of Small's 21
    starts = [r.start for r in UsageRecord.objects.filter(kind="compute").order_by("start")]
    assert starts == [T0 + timedelta(minutes=10), T0 + timedelta(hours=1), T0 + timedelta(hours=2)]  # split at UTC hours
    record = UsageRecord.objects.filter(kind="compute").first()
    assert (record.username, record.team_slug, record.profile_name, record.image) == ("alice", "data-science", "Small", "local:default")
    # Storage runs from creation on, while the workspace exists: 3 h of 10 GiB at 0.1 c/GiB-h.
    assert totals("storage") == (3 * 3600 * 1000, 3_000_000)
    assert_no_overlap()


def test_running_it_twice_adds_nothing(alice, team, small, prices):
    ws = make_workspace(alice, team, small)
    event(ws, "running", T0)
    event(ws, "stopped", T0 + timedelta(minutes=90))
    now = T0 + timedelta(hours=2)
    first = metering_run(now=now)
    before = (UsageRecord.objects.count(), totals())
    assert first > 0
    assert metering_run(now=now) == 0
    assert metering_run(now=now + timedelta(hours=5)) == 0  # the run ended: nothing more to add
    assert (UsageRecord.objects.count(), totals()) == before


def test_costs_are_current_while_running(alice, team, small, prices):
    ws = make_workspace(alice, team, small)
    event(ws, "running", T0)
    metering_run(now=T0 + timedelta(minutes=20))
    assert totals()[0] == 20 * 60 * 1000
    metering_run(now=T0 + timedelta(minutes=20))  # again at the same instant: nothing
    metering_run(now=T0 + timedelta(minutes=95))
    ms, micros = totals()
    assert ms == 95 * 60 * 1000
    assert abs(micros - 20_000_000 * 95 / 60) <= UsageRecord.objects.count()  # each slice rounds to a micro-unit
    event(ws, "stopped", T0 + timedelta(minutes=100))
    metering_run(now=T0 + timedelta(minutes=130))
    assert totals()[0] == 100 * 60 * 1000
    assert MeterRun.objects.get(kind="compute").end == T0 + timedelta(minutes=100)
    assert_no_overlap()


def test_a_price_change_prorates_and_never_rewrites_the_past(alice, team, small, prices):
    ws = make_workspace(alice, team, small)
    event(ws, "running", T0)
    metering_run(now=T0 + timedelta(minutes=30))
    already = list(UsageRecord.objects.values_list("pk", "cost_micros"))
    # Double prices from T0 + 40 min (written now, after the first half hour was metered).
    PriceSheet.objects.create(effective_from=T0 + timedelta(minutes=40), currency="EUR", cpu_core_hour=20,
                              memory_gib_hour=10, gpu_hour={}, storage_gib_month=146)
    event(ws, "stopped", T0 + timedelta(minutes=60))
    metering_run(now=T0 + timedelta(minutes=70))
    assert list(UsageRecord.objects.filter(pk__in=[pk for pk, _ in already]).values_list("pk", "cost_micros")) == already
    # 40 min at 20 c/h + 20 min at 40 c/h = 13.33… + 13.33… c
    assert abs(totals()[1] - (20_000_000 * 40 / 60 + 40_000_000 * 20 / 60)) <= UsageRecord.objects.count()
    assert set(UsageRecord.objects.filter(kind="compute").values_list("rate_micros_per_hour", flat=True)) == {20_000_000, 40_000_000}


def test_a_restart_is_two_runs_without_the_gap(alice, team, small, prices):
    ws = make_workspace(alice, team, small)
    event(ws, "running", T0)
    event(ws, "restart_requested", T0 + timedelta(minutes=30))
    event(ws, "stopping", T0 + timedelta(minutes=30, seconds=1))
    event(ws, "spawn_requested", T0 + timedelta(minutes=31))
    event(ws, "running", T0 + timedelta(minutes=33))
    event(ws, "failed", T0 + timedelta(minutes=43), reason="out_of_memory")
    metering_run(now=T0 + timedelta(hours=1))
    assert MeterRun.objects.filter(kind="compute").count() == 2
    assert totals()[0] == (31 + 10) * 60 * 1000


def test_no_double_counting_across_team_moves(alice, team, other_team, small, prices):
    ws = make_workspace(alice, team, small)
    event(ws, "running", T0)
    metering_run(now=T0 + timedelta(minutes=30))
    # alice moves to Research, and the workspace with her, while it runs.
    Membership.objects.filter(user=alice).update(team=other_team)
    ws.team = other_team
    ws.save(update_fields=["team"])
    metering_run(now=T0 + timedelta(minutes=60))
    metering_run(now=T0 + timedelta(minutes=60))
    assert totals()[0] == 60 * 60 * 1000  # every second once
    assert set(UsageRecord.objects.filter(kind="compute").values_list("team_id", flat=True)) == {team.pk}
    # The next run is the new team's.
    event(ws, "stopped", T0 + timedelta(minutes=60))
    event(ws, "running", T0 + timedelta(minutes=70))
    metering_run(now=T0 + timedelta(minutes=80))
    assert UsageRecord.objects.filter(kind="compute", team_id=other_team.pk).aggregate(ms=Sum("duration_ms"))["ms"] == 10 * 60 * 1000


def test_slices_split_at_midnight_in_the_teams_zone(alice, team, small, prices):
    team.time_zone = "Asia/Kolkata"  # midnight there is 18:30 UTC
    team.save()
    ws = make_workspace(alice, team, small)
    event(ws, "running", datetime(2026, 11, 2, 18, 0, tzinfo=UTC))
    metering_run(now=datetime(2026, 11, 2, 19, 0, tzinfo=UTC))
    starts = list(UsageRecord.objects.filter(kind="compute").values_list("start", flat=True))
    assert starts == [datetime(2026, 11, 2, 18, 0, tzinfo=UTC), datetime(2026, 11, 2, 18, 30, tzinfo=UTC)]


def test_without_prices_usage_is_recorded_at_zero(alice, team, small):
    ws = make_workspace(alice, team, small)
    event(ws, "running", T0)
    metering_run(now=T0 + timedelta(minutes=10))
    assert totals() == (10 * 60 * 1000, 0)


@pytest.mark.django_db(transaction=True)
def test_the_ledger_is_append_only(alice, team, small, prices):
    ws = make_workspace(alice, team, small)
    event(ws, "running", T0)
    metering_run(now=T0 + timedelta(minutes=10))
    record = UsageRecord.objects.first()
    for attempt in (lambda: UsageRecord.objects.filter(pk=record.pk).update(cost_micros=0),
                    lambda: UsageRecord.objects.filter(pk=record.pk).delete()):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()


@pytest.mark.django_db(transaction=True)
def test_parallel_passes_count_once(alice, team, small, prices):
    workspaces = [make_workspace(alice, team, small, name=f"ws{i}") for i in range(5)]
    for ws in workspaces:
        event(ws, "running", T0)
    now = T0 + timedelta(hours=3, minutes=7)
    barrier, errors = threading.Barrier(4), []

    def run():
        try:
            barrier.wait()
            metering_run(now=now)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert totals()[0] == 5 * (3 * 3600 + 7 * 60) * 1000
    assert_no_overlap()


def test_events_written_by_the_reconciler_are_metered(alice, team, small, prices):
    """The same event kinds the workspace services and the reconciler record, not hand-picked names."""
    from workspaces import reconciler, services

    ws = services.workspace_create(owner=alice, name="real", profile=small)
    ws.refresh_from_db()
    assert reconciler._observe(ws, "starting", kind="spawn_requested", progress=5, served_generation=ws.generation)
    ws.refresh_from_db()
    assert reconciler._observe(ws, "running", progress=100, message="")
    services.workspace_request_stop(workspace=ws, actor=alice)
    ws.refresh_from_db()
    assert reconciler._observe(ws, "stopped", progress=0, message="")
    kinds = list(ws.events.values_list("kind", flat=True))
    assert kinds == ["created", "spawn_requested", "running", "stop_requested", "stopped"]
    running, stopped = ws.events.get(kind="running").created, ws.events.get(kind="stopped").created
    metering_run()
    span = MeterRun.objects.get(kind="compute")
    assert (span.start, span.end) == (running, stopped)
    assert totals()[0] == (stopped - running) // timedelta(milliseconds=1)
    assert MeterRun.objects.get(kind="storage").end is None
