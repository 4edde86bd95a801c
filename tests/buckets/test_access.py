"""Least privilege, with real S3 calls against real stores (SeaweedFS, and moto's server): a person's
key opens their own bucket and their teams' buckets, and nothing else."""

import pytest

from buckets import services
from buckets.launch import storage_env
from buckets.models import Bucket, State, StorageIdentity
from portal.accounts import services as accounts
from portal.accounts.models import Membership
from tests.buckets.helpers import client_for, denied
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def provision(*users, teams=()):
    for team in teams:
        services.bucket_provision(bucket_id=services.bucket_ensure_team(team=team).pk)
    for user in users:
        services.identity_sync(user_id=user.pk)
    return {user.get_username(): storage_env(user=user) for user in users}


def test_a_key_opens_its_own_and_its_teams_buckets_only(any_store, alice, bob, carol, team, other_team):
    env = provision(alice, bob, carol, teams=[team, other_team])
    alice_s3, bob_s3 = client_for(env["alice"]), client_for(env["bob"])
    mine = Bucket.objects.get(owner=alice).name
    ours = Bucket.objects.get(team=team).name
    theirs = Bucket.objects.get(team=other_team).name
    bobs = Bucket.objects.get(owner=bob).name

    alice_s3.put_object(Bucket=mine, Key="data/a.csv", Body=b"x,y\n1,2\n")
    assert alice_s3.get_object(Bucket=mine, Key="data/a.csv")["Body"].read() == b"x,y\n1,2\n"
    alice_s3.put_object(Bucket=ours, Key="shared.csv", Body=b"team")
    # bob, a teammate, reads the team's bucket
    assert bob_s3.get_object(Bucket=ours, Key="shared.csv")["Body"].read() == b"team"

    assert denied(alice_s3.list_objects_v2, Bucket=bobs)
    assert denied(alice_s3.put_object, Bucket=bobs, Key="x", Body=b"1")
    assert denied(alice_s3.get_object, Bucket=theirs, Key="anything")
    assert denied(alice_s3.put_object, Bucket=theirs, Key="x", Body=b"1")
    assert denied(bob_s3.get_object, Bucket=mine, Key="data/a.csv")
    assert denied(alice_s3.create_bucket, Bucket=f"{mine}-mine-too")
    assert denied(alice_s3.delete_bucket, Bucket=ours)


def test_provisioning_twice_creates_nothing_twice(any_store, alice, team):
    provision(alice, teams=[team])
    identity = StorageIdentity.objects.get(user=alice)
    provision(alice, teams=[team])
    assert Bucket.objects.filter(owner=alice).count() == 1
    assert Bucket.objects.filter(team=team).count() == 1
    assert identity.keys.count() == 1
    assert StorageIdentity.objects.get(user=alice).state == State.READY
    # and the store holds one key for her
    assert len(services.storage().key_list(identity.iam_name)) == 1


def test_leaving_a_team_closes_its_bucket(any_store, alice, bob, team):
    env = provision(alice, bob, teams=[team])
    ours = Bucket.objects.get(team=team).name
    bob_s3 = client_for(env["bob"])
    bob_s3.put_object(Bucket=ours, Key="mine-too.csv", Body=b"1")
    accounts.membership_remove(membership=Membership.objects.get(user=bob, team=team), actor=alice)
    services.identity_sync(user_id=bob.pk)
    assert denied(bob_s3.get_object, Bucket=ours, Key="mine-too.csv")
    assert denied(bob_s3.put_object, Bucket=ours, Key="again.csv", Body=b"1")
    # his own bucket still works
    bob_s3.put_object(Bucket=Bucket.objects.get(owner=bob).name, Key="still.csv", Body=b"1")


def test_deactivation_deletes_the_key(any_store, admin, alice, team):
    env = provision(alice, teams=[team])
    alice_s3 = client_for(env["alice"])
    mine = Bucket.objects.get(owner=alice).name
    alice_s3.put_object(Bucket=mine, Key="a", Body=b"1")
    accounts.user_set_active(user=alice, active=False, actor=admin)
    services.identity_sync(user_id=alice.pk)
    assert denied(alice_s3.list_objects_v2, Bucket=mine)
    assert storage_env(user=alice).get("AWS_ACCESS_KEY_ID") is None


def test_a_deleted_team_keeps_its_bucket_and_data_orphaned_and_shut(any_store, admin, alice, team):
    env = provision(alice, teams=[team])
    bucket = Bucket.objects.get(team=team)
    alice_s3 = client_for(env["alice"])
    alice_s3.put_object(Bucket=bucket.name, Key="results.csv", Body=b"kept")
    accounts.team_delete(team=team, actor=admin)
    services.identity_sync(user_id=alice.pk)  # what her membership's removal queued

    bucket.refresh_from_db()
    assert (bucket.state, bucket.team) == (State.ORPHANED, None)
    # No one's policy opens it any more, and the platform deleted nothing: the admin decides.
    assert denied(alice_s3.get_object, Bucket=bucket.name, Key="results.csv")
    assert bucket.name not in storage_env(user=alice)["PLATFORM_BUCKETS_JSON"]
    assert [item.key for item in services.storage().object_list(bucket.name).objects] == ["results.csv"]


def test_names_are_predictable_and_collision_free(s3, db):
    plain = make_user("dora")
    odd = make_user("Dora_2")
    also = make_user("dora-2")
    names = {user.get_username(): services.bucket_ensure_personal(user=user).name for user in (plain, odd, also)}
    prefix = s3 and services.settings.PLATFORM_BUCKETS_PREFIX
    assert names["dora"] == f"{prefix}-u-dora"
    assert names["dora-2"] == f"{prefix}-u-dora-2"
    assert names["Dora_2"] == f"{prefix}-u-dora-2-{odd.pk}"
    assert len(set(names.values())) == 3
