"""The point of it all: a CSV uploaded through a presigned link is read with pandas in a real workspace
(a real hub, kernel and SeaweedFS), with no set-up in the workspace; other people's buckets stay shut."""

import json
import time

import pytest
import requests

from tests.buckets.test_celery_path import ready_env, wait_for
from buckets.models import Bucket
from tests.conftest import api_as
from tests.kernels import run_in_kernel
from tests.workspaces.conftest import small  # noqa: F401  (the fixture)
from tests.workspaces.test_hub_lifecycle import wait_for_status

pytestmark = pytest.mark.hub

CODE = r"""
import json, pathlib
import boto3, pandas as pd
listing = json.loads((pathlib.Path.home() / ".platform" / "buckets.json").read_text())
frame = pd.read_csv("s3://%(mine)s/in/iris.csv")
try:
    boto3.client("s3").list_objects_v2(Bucket="%(theirs)s")
    theirs = "READ"
except Exception as exc:
    theirs = type(exc).__name__
print(json.dumps({"sum": int(frame["petals"].sum()), "columns": list(frame.columns), "theirs": theirs,
                  "buckets": sorted(item["name"] for item in listing["buckets"])}))
"""


def test_pandas_reads_an_uploaded_csv_in_a_workspace(hub, celery_worker, s3, settings, alice, carol, team, small):
    # the worker provisions them (queued when the people and teams were made)
    for user in (alice, carol):
        ready_env(user)
    wait_for(lambda: Bucket.objects.filter(team=team, state="ready").exists(), what="the team's bucket")
    mine, ours, theirs = (Bucket.objects.get(owner=alice), Bucket.objects.get(team=team), Bucket.objects.get(owner=carol))
    client = api_as(alice)
    link = client.post(f"/api/v1/buckets/{mine.pk}/upload-link/", {"key": "in/iris.csv"}, format="json").json()
    assert requests.put(link["url"], data=b"species,petals\nsetosa,3\nvirginica,4\n", timeout=10).status_code == 200

    created = client.post("/api/v1/workspaces/", {"name": "data", "profile": "Small"}, format="json")
    assert created.status_code == 202, created.content
    running, _ = wait_for_status(client, created.json()["id"], "running")
    base = hub.server_url("alice", f"ws-{running['id']}").rstrip("/")
    outcome, printed = run_in_kernel(base, settings.PLATFORM_HUB_API_TOKEN, CODE % {"mine": mine.name, "theirs": theirs.name},
                                     timeout=120)
    assert outcome == "ok", printed
    found = json.loads(printed.strip().splitlines()[-1])
    assert found["sum"] == 7 and found["columns"] == ["species", "petals"]
    assert found["theirs"] == "AccessDenied"  # carol's bucket
    assert found["buckets"] == sorted([mine.name, ours.name])
    client.post(f"/api/v1/workspaces/{running['id']}/stop/")
    wait_for_status(client, running["id"], "stopped")
    time.sleep(0.1)
