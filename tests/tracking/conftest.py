"""A real MLflow server (tests/tracking/mlflow_server.py) behind the live portal, and a project with listed
members: alice works in it, bob is in its team but not in the project, carol is in another team."""

import secrets

import pytest

from projects.models import Project
from tests.buckets.conftest import seaweed  # noqa: F401  (the session's real S3 server)
from tests.tracking.mlflow_server import start_mlflow, stop_mlflow


@pytest.fixture(scope="session")
def mlflow_server(seaweed):  # noqa: F811
    running = start_mlflow(store=seaweed)
    try:
        yield running
    finally:
        stop_mlflow(running)


@pytest.fixture
def tracking(settings, mlflow_server):
    settings.PLATFORM_TRACKING_URL = mlflow_server.url
    settings.PLATFORM_TRACKING_SECRET = mlflow_server.secret
    settings.PLATFORM_TRACKING_BUCKET = mlflow_server.bucket
    return mlflow_server


@pytest.fixture
def churn(team, alice, bob):
    # A slug of its own per test: the session's MLflow server keeps every experiment made before.
    project = Project.objects.create(team=team, name="Churn", slug=f"churn-{secrets.token_hex(3)}", whole_team=False)
    project.owners.add(alice)
    project.members.add(alice)
    return project
