"""Provisioning and revocation speed of buckets, against the bare boto3 calls, in one run.

    DATABASE_URL=postgres://… REDIS_URL=redis://… .venv/bin/python benchmarks/buckets.py [--people 200] [--revocations 20]

Starts a real SeaweedFS (as platform_run does), a scratch PostgreSQL database next to DATABASE_URL's
(dropped at the end) and a Celery worker (one process, solo pool) on a private queue. Then:

* baseline: for each person, the bare calls the platform needs (CreateBucket, CreateUser,
  CreateAccessKey, PutUserPolicy) with boto3, one after the other, on a second, equally fresh store;
* platform: the same number of people made in one transaction (each in a team), provisioned by the
  Celery path (signals → identity_sync_task: bucket + identity + key + policy, keys encrypted, states
  recorded) until every identity is ready; time per person next to the baseline's (target ≤ 1.5×);
* revocation: a member is removed from a team and their key is tried on the team's bucket until it
  is refused; the median over --revocations.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--revocations", type=int, default=20)
    args = parser.parse_args()

    from benchmarks.costs import scratch_database
    from tests.buckets.seaweed import start_seaweed, stop_seaweed

    store = start_seaweed()
    # The baseline gets a store of its own: SeaweedFS rewrites its whole identity configuration on each IAM
    # change, so calls slow down as identities pile up, and sharing one store would charge the platform for
    # the baseline's 200 users (measured first: a 4.6x "ratio" that was mostly this).
    baseline_store = start_seaweed()
    url, drop = scratch_database(os.environ["DATABASE_URL"])
    os.environ.update(DATABASE_URL=url, PLATFORM_DATA_DIR=tempfile.mkdtemp(prefix="dsw-bench-"),
                      PLATFORM_S3_ENDPOINT_URL=store.endpoint_url, PLATFORM_S3_ADMIN_ACCESS_KEY=store.access_key_id,
                      PLATFORM_S3_ADMIN_SECRET_KEY=store.secret, DJANGO_SETTINGS_MODULE="portal.settings")
    import django

    django.setup()
    try:
        run(store, baseline_store, args)
    finally:
        drop()
        stop_seaweed(store)
        stop_seaweed(baseline_store)


def bare(store, count):
    import boto3

    kwargs = {"endpoint_url": store.endpoint_url, "region_name": "us-east-1", "aws_access_key_id": store.access_key_id,
              "aws_secret_access_key": store.secret}
    s3, iam = boto3.client("s3", **kwargs), boto3.client("iam", **kwargs)
    start = time.perf_counter()
    for index in range(count):
        name = f"bare-{index}"
        s3.create_bucket(Bucket=name)
        iam.create_user(UserName=name)
        iam.create_access_key(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
             "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]}]}))
    return time.perf_counter() - start


def run(store, baseline_store, args):
    from celery.contrib.testing.worker import start_worker
    from django.core.management import call_command
    from django.db import transaction

    from buckets.launch import storage_env
    from buckets.models import Bucket, State, StorageIdentity
    from portal.accounts import services as accounts
    from portal.accounts.models import Membership, Team, User
    from portal.celery import app
    from tests.buckets.helpers import client_for, wait_until_denied

    call_command("migrate", verbosity=0)
    app.conf.task_default_queue = f"bench-buckets-{os.getpid()}"
    from django.core.cache import cache

    cache.clear()  # no "already queued" marks of an earlier run (user ids repeat in a scratch database)
    baseline = bare(baseline_store, args.people)
    team = Team.objects.create(name="Bench", slug="bench")
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30):
        deadline = time.monotonic() + 120
        while not Bucket.objects.filter(team=team, state=State.READY).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        start = time.perf_counter()
        with transaction.atomic():
            for index in range(args.people):
                user = User.objects.create_user(username=f"person{index}", password=None)
                Membership.objects.create(team=team, user=user)
        deadline = time.monotonic() + 600
        while StorageIdentity.objects.filter(state=State.READY, policy_digest__gt="").count() < args.people:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {StorageIdentity.objects.filter(state=State.READY).count()} of {args.people} ready")
            time.sleep(0.05)
        platform = time.perf_counter() - start

        team_bucket = Bucket.objects.get(team=team, primary=True).name
        admin = User.objects.create_user(username="bench-admin", is_staff=True)
        latencies = []
        for index in range(args.revocations):
            user = User.objects.get(username=f"person{index}")
            s3 = client_for(storage_env(user=user))
            s3.put_object(Bucket=team_bucket, Key=f"{index}.csv", Body=b"1")
            accounts.membership_remove(membership=Membership.objects.get(team=team, user=user), actor=admin)
            latencies.append(wait_until_denied(s3.get_object, Bucket=team_bucket, Key=f"{index}.csv", timeout=60))

    per_bare, per_platform = baseline / args.people * 1000, platform / args.people * 1000
    print(f"people: {args.people}")
    print(f"bare boto3 (bucket + identity + key + policy): {per_bare:.1f} ms per person")
    print(f"platform (Celery path, until every identity is ready): {per_platform:.1f} ms per person "
          f"(ratio {per_platform / per_bare:.2f}, target <= 1.5)")
    print(f"revocation (membership removed -> first denied S3 call), median of {len(latencies)}: "
          f"{statistics.median(latencies) * 1000:.0f} ms (max {max(latencies) * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
