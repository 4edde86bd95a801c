"""The experiment namespace and the route table, as tables: what each name and path belongs to, and what each
MLflow route needs. Anything not in the table is refused."""

import pytest

from tracking.names import ProjectKey, artifact_location, project_of_artifact_path, project_of_experiment
from tracking.routes import READ, WRITE, rule_for

KEY = ProjectKey("data-science", "churn")


@pytest.mark.parametrize("name, expected", [
    ("data-science/churn", KEY),
    ("data-science/churn/tuning", KEY),
    ("data-science/churn/tuning/lr sweep", KEY),
    ("  data-science/churn  ", KEY),
    ("data-science/churn/", None),
    ("data-science/churn/   ", None),
    ("Default", None),
    ("churn", None),
    ("Data-Science/churn", None),
    ("/data-science/churn", None),
    ("", None),
    (None, None),
])
def test_experiment_names(name, expected):
    assert project_of_experiment(name) == expected


@pytest.mark.parametrize("path, expected", [
    ("data-science/churn/0123abcd/artifacts/model.pkl", KEY),
    ("data-science/churn", KEY),
    ("data-science/churn/../../research/secret/x", None),
    ("data-science/../research/x", None),
    ("data-science/churn/./x", None),
    ("data-science//churn/x", None),
    ("data-science\\churn\\x", None),
    ("data-science", None),
    ("", None),
])
def test_artifact_paths(path, expected):
    assert project_of_artifact_path(path) == expected


def test_an_experiments_artifacts_live_under_its_project_prefix():
    assert artifact_location(KEY) == "mlflow-artifacts:/data-science/churn"
    assert project_of_artifact_path(artifact_location(KEY).split(":/", 1)[1] + "/run/artifacts/x") == KEY


@pytest.mark.parametrize("method, path, expected", [
    ("GET", "/mlflow/", (READ, "shell")),
    ("GET", "/mlflow/static-files/static/js/main.js", (READ, "shell")),
    ("POST", "/mlflow/", None),
    ("GET", "/mlflow/ajax-api/3.0/mlflow/server-info", (READ, "server-info")),
    ("GET", "/mlflow/ajax-api/2.0/mlflow/experiments/get", (READ, "experiment")),
    ("GET", "/mlflow/api/2.0/mlflow/experiments/get-by-name", (READ, "name")),
    ("POST", "/mlflow/api/2.0/mlflow/experiments/create", (WRITE, "name")),
    ("POST", "/mlflow/ajax-api/2.0/mlflow/experiments/search", (READ, "search")),
    ("POST", "/mlflow/api/2.0/mlflow/runs/create", (WRITE, "experiment")),
    ("POST", "/mlflow/api/2.0/mlflow/runs/log-batch", (WRITE, "run")),
    ("POST", "/mlflow/api/2.0/mlflow/runs/search", (READ, "experiments")),
    ("GET", "/mlflow/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval", (READ, "runs")),
    ("GET", "/mlflow/get-artifact", (READ, "run")),
    ("GET", "/mlflow/api/2.0/mlflow-artifacts/artifacts/data-science/churn/r/artifacts/x", (READ, "artifact")),
    ("GET", "/mlflow/api/2.0/mlflow-artifacts/artifacts", (READ, "artifact")),
    ("PUT", "/mlflow/api/2.0/mlflow-artifacts/artifacts/data-science/churn/r/artifacts/x", (WRITE, "artifact")),
    ("DELETE", "/mlflow/api/2.0/mlflow-artifacts/artifacts/data-science/churn/r/artifacts/x", (WRITE, "artifact")),
    ("POST", "/mlflow/api/2.0/mlflow-artifacts/mpu/create/data-science/churn/r/artifacts/x", (WRITE, "artifact")),
    ("POST", "/mlflow/api/2.0/mlflow-artifacts/artifacts/data-science/churn/x", None),
    # Not offered: the model registry is global (no project owns a model), and whatever MLflow adds next.
    ("GET", "/mlflow/api/2.0/mlflow/registered-models/search", None),
    ("POST", "/mlflow/graphql", None),
    ("GET", "/mlflow/api/2.0/mlflow-artifacts/presigned/data-science/churn/r/artifacts/x", None),
    ("GET", "/mlflow/api/2.0/mlflow/users/get", None),
    ("POST", "/mlflow/api/2.0/mlflow/gateway/secrets/create", None),
    ("GET", "/mlflow/health/../api/2.0/mlflow/registered-models/search", None),
])
def test_routes(method, path, expected):
    rule = rule_for(method, path)
    assert (rule and (rule.access, rule.kind)) == expected
