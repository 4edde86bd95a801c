"""The experiment namespace and the route table, as tables: what each name and path belongs to, and what each
MLflow route needs. Anything not in the table is refused."""

import pytest

from tracking.graphql import Needs, Refused, graphql_needs
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
    ("POST", "/mlflow/graphql", (READ, "graphql")),
    ("GET", "/mlflow/graphql", None),
    ("GET", "/mlflow/api/2.0/mlflow-artifacts/presigned/data-science/churn/r/artifacts/x", None),
    ("GET", "/mlflow/api/2.0/mlflow/users/get", None),
    ("POST", "/mlflow/api/2.0/mlflow/gateway/secrets/create", None),
    ("GET", "/mlflow/health/../api/2.0/mlflow/registered-models/search", None),
])
def test_routes(method, path, expected):
    rule = rule_for(method, path)
    assert (rule and (rule.access, rule.kind)) == expected


GET_EXPERIMENT = "query MlflowGetExperimentQuery($input: MlflowGetExperimentInput) { mlflowGetExperiment(input: $input) { experiment { name } } }"


@pytest.mark.parametrize("body, expected", [
    ({"query": GET_EXPERIMENT, "variables": {"input": {"experimentId": "7"}}}, Needs(("7",), ())),
    ({"query": '{ a: mlflowGetRun(input: {runId: "r1"}) { run { info { runName } } } '
               'b: mlflowGetMetricHistoryBulkInterval(input: {runIds: ["r2", "r3"], metricKey: "x"}) { metrics { key } } }'},
     Needs((), ("r1", "r2", "r3"))),
    ({"query": 'query Q($ids: [String]) { mlflowSearchRuns(input: {experimentIds: $ids}) { runs { info { runId } } } }',
      "variables": {"ids": ["1", "2"]}}, Needs(("1", "2"), ())),
    ({"query": "{ __typename }"}, Needs()),
])
def test_graphql_reads_name_what_they_read(body, expected):
    assert graphql_needs(body) == expected


@pytest.mark.parametrize("body, message", [
    ({"query": "mutation { mlflowSetTag(input: {}) { x } }"}, "Only GraphQL queries"),
    ({"query": "{ __schema { types { name } } }"}, "__schema is not offered"),
    ({"query": "{ mlflowSearchModelVersions(input: {}) { x } }"}, "mlflowSearchModelVersions is not offered"),
    ({"query": "query { ...F } fragment F on QueryType { mlflowGetRun(input: {runId: \"r\"}) { run { x } } }"},
     "Top-level fragments"),
    ({"query": "{ mlflowGetRun { run { x } } }"}, "needs an input"),
    ({"query": "{ mlflowGetRun(input: {}) { run { x } } }"}, "needs runId or runUuid"),
    ({"query": "{ mlflowSearchRuns(input: {experimentIds: [1]}) { runs { x } } }"}, "must name ids"),
    ({"query": "{ nope"}, "does not parse"),
    ({"query": 5}, "needs a query"),
])
def test_graphql_refusals_say_why(body, message):
    with pytest.raises(Refused, match=message):
        graphql_needs(body)
