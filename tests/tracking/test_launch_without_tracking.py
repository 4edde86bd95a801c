"""MLflow down: a workspace still launches through the real hub, with its MLflow variables (they are computed,
never fetched), and only tracking calls fail, with a message."""

import pytest

from tests.conftest import api_as, free_port
from tests.kernels import run_in_kernel
from tests.workspaces.conftest import small  # noqa: F401  (the fixture)
from tests.workspaces.test_hub_lifecycle import wait_for_status

pytestmark = pytest.mark.hub

CODE = r"""
import os
print(os.environ["MLFLOW_TRACKING_URI"], os.environ["MLFLOW_EXPERIMENT_NAME"], os.environ["MLFLOW_TRACKING_TOKEN"][:4])
"""


def test_a_workspace_launches_while_mlflow_is_down(hub, celery_worker, settings, alice, churn, small):
    settings.PLATFORM_TRACKING_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings.PLATFORM_TRACKING_SECRET = "unused"
    api = api_as(alice)
    created = api.post("/api/v1/workspaces/", {"name": "untracked", "profile": "Small", "project": churn.slug},
                       format="json")
    assert created.status_code == 202, created.content
    running, _ = wait_for_status(api, created.json()["id"], "running")
    try:
        outcome, printed = run_in_kernel(hub.server_url("alice", f"ws-{running['id']}").rstrip("/"),
                                         settings.PLATFORM_HUB_API_TOKEN, CODE, timeout=120)
        assert outcome == "ok", printed
        assert printed.split() == [f"{settings.PLATFORM_PUBLIC_URL}/mlflow", str(churn), "mlt_"]
    finally:
        api.post(f"/api/v1/workspaces/{running['id']}/stop/")
        wait_for_status(api, running["id"], "stopped")
