"""The point of it all: a notebook's kernel in alice's real workspace (a real hub, proxy and single-user server)
logs params, metrics and an artifact with plain `mlflow` calls and no set-up; the run shows on the project page,
and the artifact lies under the project's prefix in the object store."""

import json

import boto3
import pytest

from tests.conftest import api_as
from tests.kernels import run_in_kernel
from tests.workspaces.conftest import small  # noqa: F401  (the fixture)
from tests.workspaces.test_hub_lifecycle import wait_for_status

pytestmark = pytest.mark.hub

CODE = r"""
import json
import mlflow

with mlflow.start_run(run_name="first-try") as run:
    mlflow.log_params({"alpha": 0.5, "layers": 3})
    for step, loss in enumerate([0.9, 0.5, 0.3]):
        mlflow.log_metric("loss", loss, step=step)
    mlflow.log_metric("rmse", 0.25)
    mlflow.log_text("hello from the workspace", "notes/hello.txt")
print(json.dumps({"run_id": run.info.run_id, "experiment": mlflow.get_experiment(run.info.experiment_id).name}))
"""


def test_a_notebook_logs_a_run_with_no_set_up(hub, celery_worker, tracking, seaweed, settings, client, alice, churn, small):
    api = api_as(alice)
    created = api.post("/api/v1/workspaces/", {"name": "tracked", "profile": "Small", "project": churn.slug},
                       format="json")
    assert created.status_code == 202, created.content
    running, _ = wait_for_status(api, created.json()["id"], "running")
    try:
        base = hub.server_url("alice", f"ws-{running['id']}").rstrip("/")
        outcome, printed = run_in_kernel(base, settings.PLATFORM_HUB_API_TOKEN, CODE, timeout=180)
        assert outcome == "ok", printed
        logged = json.loads(printed.strip().splitlines()[-1])
        assert logged["experiment"] == str(churn)  # the project's experiment, made on first use

        client.force_login(alice)
        page = client.get(f"/projects/{churn.pk}/").content.decode()
        assert "first-try" in page and "rmse = 0.25" in page and "finished" in page
        assert f"#/experiments/" in page

        s3 = boto3.client("s3", endpoint_url=seaweed.endpoint_url, region_name="us-east-1",
                          aws_access_key_id=seaweed.access_key_id, aws_secret_access_key=seaweed.secret)
        listed = s3.list_objects_v2(Bucket=tracking.bucket, Prefix=f"{churn}/")
        assert [item["Key"] for item in listed.get("Contents", [])] == [
            f"{churn}/{logged['run_id']}/artifacts/notes/hello.txt"]
    finally:
        api.post(f"/api/v1/workspaces/{running['id']}/stop/")
        wait_for_status(api, running["id"], "stopped")
