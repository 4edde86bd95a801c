import itertools
from datetime import datetime, timedelta, timezone

import pytest

from costs import rollups
from costs.models import MeterRun, PriceSheet, UsageRecord
from costs.pricing import MICROS
from workspaces.models import Profile, Workspace, WorkspaceEvent

UTC = timezone.utc
_ids = itertools.count(10**9)


@pytest.fixture
def small(db):
    """1 core, 2 GiB, 10 GiB disk."""
    return Profile.objects.create(name="Small", cpu="1", memory_bytes=2 * 2**30, disk_bytes=10 * 2**30)


@pytest.fixture
def gpu_profile(db):
    return Profile.objects.create(name="GPU", cpu="4", memory_bytes=16 * 2**30, gpus=1, gpu_type="h100", disk_bytes=10 * 2**30)


@pytest.fixture
def prices(db):
    """CPU 10 c/h, memory 5 c/GiB-h, H100 300 c/h (others 100), disk 73 c/GiB-month (= 0.1 c/GiB-h):
    Small costs 10 + 10 + 1 = 21 cents an hour."""
    return PriceSheet.objects.create(effective_from=datetime(2020, 1, 1, tzinfo=UTC), currency="EUR", cpu_core_hour=10,
                                     memory_gib_hour=5, gpu_hour={"h100": 300, "": 100}, storage_gib_month=73)


def make_workspace(owner, team, profile, name="ws", **fields):
    return Workspace.objects.create(owner=owner, team=team, profile=profile, name=name, image="local:default", **fields)


def event(workspace, kind, at, **data):
    """A lifecycle event at a chosen instant (the model stamps 'now'; tests need the past)."""
    created = WorkspaceEvent.objects.create(workspace=workspace, kind=kind, data=data)
    WorkspaceEvent.objects.filter(pk=created.pk).update(created=at)
    created.created = at
    return created


_keys = {}


def _key(name):
    return _keys.setdefault(name, len(_keys) + 1)


def spend(team, minor, at, *, username="alice", profile_name="Small", workspace_id=1, project=None):
    """Put ``minor`` units of spend for ``team`` into the ledger at ``at`` (for budget and report tests)."""
    run = MeterRun.objects.create(id=next(_ids), kind="compute", workspace_id=workspace_id, workspace_name=f"ws{workspace_id}",
                                  username=username, team_id=team.pk, team_slug=team.slug, profile_name=profile_name,
                                  image="local:default", cpu=1, memory_bytes=2**30, start=at, end=at + timedelta(minutes=1),
                                  metered_until=at + timedelta(minutes=1))
    record = UsageRecord.objects.create(run=run, kind="compute", workspace_id=workspace_id, workspace_name=run.workspace_name,
                                      username=username, user_id=_key(username), profile_id=_key(profile_name), team_id=team.pk, team_slug=team.slug, profile_name=profile_name,
                                      image="local:default", start=at, end=at + timedelta(minutes=1), duration_ms=60_000,
                                      project_id=project.pk if project else None, project_slug=project.slug if project else "",
                                      rate_micros_per_hour=0, cost_micros=minor * MICROS, currency="EUR")
    rollups.add([record])  # as metering does with what it writes
    return record
