"""Bucket storage in the usage ledger: sizes sampled from the real store, priced at storage_gib_month
from one sample to the next, billed to a team bucket's team and a personal bucket's owner's team."""

from datetime import datetime, timedelta, timezone

import pytest

from buckets import services
from buckets.models import Bucket, BucketSample
from costs.metering import metering_run
from costs.models import PriceSheet, UsageRecord
from costs.selectors import cost_report
from tests.buckets.helpers import client_for
from buckets.launch import storage_env

pytestmark = pytest.mark.django_db
UTC = timezone.utc
MIB = 2**20


@pytest.fixture
def prices(db):
    # 730 cents per GiB-month = 1 cent per GiB-hour
    return PriceSheet.objects.create(effective_from=datetime(2020, 1, 1, tzinfo=UTC), currency="EUR", cpu_core_hour=10,
                                     memory_gib_hour=5, storage_gib_month=730)


def at(sample, when):
    BucketSample.objects.filter(pk=sample.pk).update(sampled_at=when)


def test_bucket_storage_is_metered_from_samples(s3, prices, alice, team):
    services.bucket_provision(bucket_id=services.bucket_ensure_team(team=team).pk)
    services.identity_sync(user_id=alice.pk)
    alice_s3 = client_for(storage_env(user=alice))
    ours, mine = Bucket.objects.get(team=team), Bucket.objects.get(owner=alice)
    alice_s3.put_object(Bucket=ours.name, Key="big.bin", Body=b"x" * (512 * MIB // 8))  # 64 MiB
    alice_s3.put_object(Bucket=mine.name, Key="small.bin", Body=b"x" * MIB)

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    services.bucket_sample(bucket_id=ours.pk)
    services.bucket_sample(bucket_id=mine.pk)
    services.bucket_sample(bucket_id=ours.pk)  # unchanged: no second sample
    assert BucketSample.objects.filter(bucket=ours).count() == 1
    first = BucketSample.objects.get(bucket=ours)
    at(first, now - timedelta(hours=3))
    at(BucketSample.objects.get(bucket=mine), now - timedelta(hours=3))
    assert Bucket.objects.get(pk=ours.pk).size_bytes == 64 * MIB

    # an hour later the team's bucket doubled
    alice_s3.put_object(Bucket=ours.name, Key="more.bin", Body=b"x" * (64 * MIB))
    services.bucket_sample(bucket_id=ours.pk)
    at(BucketSample.objects.filter(bucket=ours).latest("id"), now - timedelta(hours=2))

    metering_run(now=now)
    metering_run(now=now)  # idempotent
    team_records = UsageRecord.objects.filter(kind="bucket", bucket_id=ours.pk)
    # 1 h at 1/16 GiB (0.0625 cent) + 2 h at 1/8 GiB (0.25 cent), in micro-units of a cent
    assert sum(team_records.values_list("cost_micros", flat=True)) == 62_500 + 250_000
    assert set(team_records.values_list("team_id", flat=True)) == {team.pk}
    personal = UsageRecord.objects.filter(kind="bucket", bucket_id=mine.pk)
    assert set(personal.values_list("team_id", "username")) == {(team.pk, "alice")}
    assert sum(personal.values_list("duration_ms", flat=True)) == 3 * 3600 * 1000

    groups, _ = cost_report(team=team, start=now - timedelta(days=1), end=now, group_by="bucket")
    assert {group["label"] for group in groups} == {ours.name, mine.name}
