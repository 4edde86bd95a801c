"""What a workspace gets: MLflow's variables in its launch spec, with a token of its owner that works while
the owner is active and opens nothing but tracking."""

import pytest

from portal.accounts.services import user_set_active
from tests.conftest import api_as
from tests.workspaces.conftest import small  # noqa: F401  (the fixture)
from tracking.tokens import tracking_token_authenticate, tracking_token_for
from workspaces import services
from workspaces.launch import launch_spec_for


@pytest.fixture
def tracked(settings):
    settings.PLATFORM_TRACKING_URL = "http://127.0.0.1:1"  # computed, never called
    settings.PLATFORM_PUBLIC_URL = "http://localhost:8000"


def test_a_project_workspace_starts_with_the_projects_experiment_and_its_owners_token(tracked, alice, churn, small):
    workspace = services.workspace_create(owner=alice, name="tracked", profile=small, project=churn)
    env = launch_spec_for(workspace)["env"]
    assert env["MLFLOW_TRACKING_URI"] == "http://localhost:8000/mlflow"
    assert env["MLFLOW_EXPERIMENT_NAME"] == str(churn)
    assert env["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert tracking_token_authenticate(env["MLFLOW_TRACKING_TOKEN"]) == alice
    assert env["MLFLOW_TRACKING_TOKEN"] == tracking_token_for(user=alice, workspace_id=workspace.pk)  # stable


def test_no_project_no_experiment_and_no_tracking_no_variables(tracked, settings, alice, small):
    workspace = services.workspace_create(owner=alice, name="plain", profile=small)
    assert "MLFLOW_EXPERIMENT_NAME" not in launch_spec_for(workspace)["env"]
    settings.PLATFORM_TRACKING_URL = ""
    assert not any(name.startswith("MLFLOW_") for name in launch_spec_for(workspace)["env"])


def test_the_token_ends_with_its_person_and_opens_nothing_else(alice, admin):
    token = tracking_token_for(user=alice, workspace_id=7)
    assert api_as(token=token).get("/api/v1/users/me/").status_code == 401  # tracking only
    for forged in (token[:-2] + "xx", token.replace("mlt_", "mlt_9"), "mlt_", "dsw_x", ""):
        assert tracking_token_authenticate(forged) is None
    user_set_active(user=alice, active=False, actor=admin)
    assert tracking_token_authenticate(token) is None
