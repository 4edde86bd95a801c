"""The whole path through a real Celery worker and real SeaweedFS: changes to people, teams and
memberships reach the store within the documented minute (here: seconds), rotation keeps the old key
for its grace and then ends it, and an unreachable store fails visibly and recovers."""

import time

import pytest

from buckets import services
from buckets.launch import storage_env
from buckets.models import Bucket, State, StorageIdentity, StorageKey
from portal.accounts import services as accounts
from portal.accounts.models import Membership
from tests.buckets.helpers import client_for, denied, wait_until_denied
from tests.conftest import make_user


def wait_for(predicate, timeout=60, what="it"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def ready_env(user):
    def check():
        identity = StorageIdentity.objects.filter(user=user, state=State.READY).first()
        env = storage_env(user=user)
        return env if identity and "AWS_ACCESS_KEY_ID" in env else None
    return wait_for(check, what=f"{user}'s credentials")


def test_joining_and_leaving_a_team_through_the_worker(s3, celery_worker, admin):
    team = accounts.team_create(name="Vision", actor=admin)
    dana = make_user("dana")
    env = ready_env(dana)
    dana_s3 = client_for(env)
    team_bucket = wait_for(lambda: Bucket.objects.filter(team=team, state=State.READY).first(), what="the team bucket")
    assert denied(dana_s3.list_objects_v2, Bucket=team_bucket.name)

    membership = accounts.membership_add(team=team, user=dana, actor=admin)
    wait_for(lambda: not denied(dana_s3.put_object, Bucket=team_bucket.name, Key="joined.csv", Body=b"1"), what="access")

    accounts.membership_remove(membership=Membership.objects.get(pk=membership.pk), actor=admin)
    assert wait_until_denied(dana_s3.get_object, Bucket=team_bucket.name, Key="joined.csv", timeout=60) < 60
    # her own bucket is untouched
    dana_s3.put_object(Bucket=Bucket.objects.get(owner=dana).name, Key="mine.csv", Body=b"1")


def test_rotation_keeps_the_old_key_for_its_grace(s3, celery_worker, settings, alice):
    settings.PLATFORM_BUCKETS_KEY_GRACE_MINUTES = 0
    old = ready_env(alice)
    mine = Bucket.objects.get(owner=alice).name
    services.credentials_request_rotation(user=alice, actor=alice)
    new = wait_for(lambda: (lambda env: env if env.get("AWS_ACCESS_KEY_ID") not in (None, old["AWS_ACCESS_KEY_ID"]) else None)(
        storage_env(user=alice)), what="a new key")
    # A key the store just made may take a moment to be honoured everywhere in it.
    wait_for(lambda: not denied(client_for(new).put_object, Bucket=mine, Key="new.csv", Body=b"1"), what="the new key working")
    # grace 0: the janitor's next pass deletes the old key at the store
    services.buckets_janitor()
    wait_until_denied(client_for(old).list_objects_v2, Bucket=mine, timeout=60)
    # The worker ends the key at the store first and records that after, so the row may lag the
    # store by a moment: wait for the record rather than read it once.
    wait_for(lambda: StorageKey.objects.get(access_key_id=old["AWS_ACCESS_KEY_ID"]).deleted is not None,
             what="the old key recorded as deleted")
    client_for(new).get_object(Bucket=mine, Key="new.csv")


def test_a_running_workspace_keeps_its_key_during_the_grace(s3, settings, alice):
    settings.PLATFORM_BUCKETS_KEY_GRACE_MINUTES = 60
    services.identity_sync(user_id=alice.pk)
    old = storage_env(user=alice)
    services.credentials_request_rotation(user=alice, actor=alice)
    services.identity_sync(user_id=alice.pk)
    new = storage_env(user=alice)
    assert new["AWS_ACCESS_KEY_ID"] != old["AWS_ACCESS_KEY_ID"]
    mine = Bucket.objects.get(owner=alice).name
    assert not denied(client_for(old).list_objects_v2, Bucket=mine)
    assert not denied(client_for(new).list_objects_v2, Bucket=mine)


@pytest.mark.django_db
def test_an_unreachable_store_fails_visibly_and_never_blocks_a_launch_spec(settings, s3, alice):
    from tests.conftest import free_port

    real = settings.PLATFORM_S3_ENDPOINT_URL
    settings.PLATFORM_S3_ENDPOINT_URL = settings.PLATFORM_S3_IAM_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(services.StorageError):
        services.identity_sync(user_id=alice.pk)
    bucket = Bucket.objects.get(owner=alice)
    assert bucket.state == State.FAILED and "does not answer" in bucket.state_reason
    env = storage_env(user=alice)
    assert "AWS_SECRET_ACCESS_KEY" not in env and "unavailable" in env["PLATFORM_BUCKETS_JSON"]
    # the store is back: the next pass (the janitor queues it) makes everything
    settings.PLATFORM_S3_ENDPOINT_URL = settings.PLATFORM_S3_IAM_ENDPOINT_URL = real
    services.identity_sync(user_id=alice.pk)
    assert Bucket.objects.get(owner=alice).state == State.READY
    assert "AWS_SECRET_ACCESS_KEY" in storage_env(user=alice)
