"""The permission layer with a real MLflow server behind the live portal, driven by MLflow's own client: a
project's members read and write its experiments, the rest of its team reads them, other teams see nothing;
names outside the caller's projects are refused with a message that says what would work."""

import boto3
import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException

from portal.accounts.models import AccessToken
from portal.accounts.services import token_create
from projects.models import Project
from tests.conftest import PASSWORD, token_for
from tracking.tokens import tracking_token_for

pytestmark = pytest.mark.django_db(transaction=True)


def client_as(monkeypatch, live_server, token):
    """MLflow's client as a workspace uses it: the platform's route and a token in the environment."""
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # a refusal is final (see helpers.py)
    return MlflowClient(tracking_uri=f"{live_server.url}/mlflow")


def api(live_server, token, method, path, **kwargs):
    return requests.request(method, f"{live_server.url}/mlflow/api/2.0/mlflow/{path}",
                            headers={"Authorization": f"Bearer {token}"}, timeout=30, **kwargs)


@pytest.fixture
def logged(tracking, live_server, monkeypatch, churn, alice):
    """alice's run in the project's experiment, with a param, a metric and an artifact."""
    client = client_as(monkeypatch, live_server, tracking_token_for(user=alice, workspace_id=1))
    experiment_id = client.create_experiment(str(churn))
    run = client.create_run(experiment_id, run_name="baseline")
    client.log_param(run.info.run_id, "alpha", "0.5")
    client.log_metric(run.info.run_id, "rmse", 0.25)
    client.log_text(run.info.run_id, "hello", "notes.txt")
    client.set_terminated(run.info.run_id)
    return experiment_id, run.info.run_id


def test_a_member_logs_and_the_artifact_lands_in_the_projects_prefix(tracking, seaweed, live_server, monkeypatch, logged,
                                                                    churn, alice):
    experiment_id, run_id = logged
    client = client_as(monkeypatch, live_server, tracking_token_for(user=alice, workspace_id=1))
    run = client.get_run(run_id)
    assert run.data.params == {"alpha": "0.5"} and run.data.metrics == {"rmse": 0.25}
    # The run is the person's, not the workspace's OS account's.
    assert run.info.user_id == "alice" and run.data.tags["mlflow.user"] == "alice"
    experiment = client.get_experiment(experiment_id)
    assert experiment.artifact_location == f"mlflow-artifacts:/{churn.team.slug}/{churn.slug}"
    s3 = boto3.client("s3", endpoint_url=seaweed.endpoint_url, region_name="us-east-1",
                      aws_access_key_id=seaweed.access_key_id, aws_secret_access_key=seaweed.secret)
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=tracking.bucket, Prefix=f"{churn}/").get("Contents", [])]
    assert keys == [f"{churn}/{run_id}/artifacts/notes.txt"]
    assert client.download_artifacts(run_id, "notes.txt", dst_path=str(tracking.folder))
    assert (tracking.folder / "notes.txt").read_text() == "hello"


def test_an_html_artifact_opened_by_its_url_runs_nothing_in_the_portals_origin(live_server, monkeypatch, logged, churn,
                                                                               alice):
    _, run_id = logged
    token = tracking_token_for(user=alice, workspace_id=1)
    client_as(monkeypatch, live_server, token).log_text(run_id, "<script>document.title='owned'</script>", "report.html")
    headers = {"Authorization": f"Bearer {token}"}
    for url, params in ((f"{live_server.url}/mlflow/get-artifact", {"path": "report.html", "run_uuid": run_id}),
                        (f"{live_server.url}/mlflow/api/2.0/mlflow-artifacts/artifacts/{churn}/{run_id}/artifacts/report.html",
                         None)):
        answer = requests.get(url, params=params, headers=headers, timeout=30)
        assert answer.status_code == 200 and b"<script>" in answer.content, url
        assert answer.headers["Content-Security-Policy"] == "sandbox; default-src 'none'", url
        assert answer.headers["X-Content-Type-Options"] == "nosniff" and answer.headers["Content-Disposition"] == "attachment"
    refused = requests.get(f"{live_server.url}/mlflow/api/2.0/mlflow/runs/get", params={"run_id": "nope"}, headers=headers,
                           timeout=30)
    assert refused.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"


def test_the_team_reads_but_only_members_write(live_server, monkeypatch, logged, churn, bob):
    experiment_id, run_id = logged
    client = client_as(monkeypatch, live_server, tracking_token_for(user=bob, workspace_id=2))
    assert client.get_run(run_id).data.metrics == {"rmse": 0.25}
    assert [run.info.run_id for run in client.search_runs([experiment_id])] == [run_id]
    assert [item.value for item in client.get_metric_history(run_id, "rmse")] == [0.25]
    assert client.get_experiment_by_name(str(churn)).experiment_id == experiment_id
    assert [item.path for item in client.list_artifacts(run_id)] == ["notes.txt"]
    for write in (lambda: client.log_metric(run_id, "rmse", 0.1), lambda: client.create_run(experiment_id),
                  lambda: client.set_tag(run_id, "x", "y"), lambda: client.delete_run(run_id),
                  lambda: client.create_experiment(f"{churn}/mine")):
        with pytest.raises(RestException) as refused:
            write()
        assert refused.value.error_code == "PERMISSION_DENIED"
        assert f"You can read the experiments of {churn} but not change them: you are not a member" in str(refused.value)
    assert client_as(monkeypatch, live_server, tracking_token_for(user=churn.owners.get(), workspace_id=1)).get_run(
        run_id).data.metrics == {"rmse": 0.25}


def test_another_team_sees_nothing(live_server, monkeypatch, logged, churn, carol):
    experiment_id, run_id = logged
    token = tracking_token_for(user=carol, workspace_id=3)
    client = client_as(monkeypatch, live_server, token)
    assert all(item.name != str(churn) for item in client.search_experiments())
    assert client.get_experiment_by_name(str(churn)) is None
    for read in (lambda: client.get_experiment(experiment_id), lambda: client.get_run(run_id),
                 lambda: client.search_runs([experiment_id]), lambda: client.list_artifacts(run_id)):
        with pytest.raises(MlflowException) as hidden:
            read()
        assert "RESOURCE_DOES_NOT_EXIST" in str(hidden.value)
    # The artifact's own URL, by the path MLflow would use.
    artifact = requests.get(f"{live_server.url}/mlflow/api/2.0/mlflow-artifacts/artifacts/{churn}/{run_id}/artifacts/notes.txt",
                            headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert artifact.status_code == 404 and b"hello" not in artifact.content
    listing = requests.get(f"{live_server.url}/mlflow/api/2.0/mlflow-artifacts/artifacts", params={"path": f"{churn}/{run_id}"},
                           headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert listing.status_code == 404
    upload = requests.put(f"{live_server.url}/mlflow/api/2.0/mlflow-artifacts/artifacts/{churn}/{run_id}/artifacts/evil.txt",
                          data=b"x", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert upload.status_code == 404


def test_names_outside_your_projects_are_refused_with_what_would_work(live_server, monkeypatch, tracking, churn, alice,
                                                                      other_team):
    theirs = Project.objects.create(team=other_team, name="Secret", slug="secret")
    client = client_as(monkeypatch, live_server, tracking_token_for(user=alice, workspace_id=1))
    for name in ("my experiment", str(theirs), "Default", "data-science/no-such-project"):
        with pytest.raises(RestException) as refused:
            client.create_experiment(name)
        assert refused.value.error_code == "PERMISSION_DENIED"
        assert f"Experiment {name!r} is outside your projects. Experiment names start with one of your projects: {churn}" \
               in str(refused.value)
    assert all(item.name != "my experiment" for item in client.search_experiments())
    # MLflow's Default experiment is nobody's: a run without an experiment says where to log instead.
    with pytest.raises(RestException) as refused:
        client.create_run("0")
    assert "outside your projects" in str(refused.value) and f"mlflow.set_experiment('{churn}')" in str(refused.value)


def test_tokens_and_bad_input(live_server, tracking, churn, alice, logged):
    experiment_id, run_id = logged
    assert requests.get(f"{live_server.url}/mlflow/api/2.0/mlflow/experiments/get",
                        params={"experiment_id": experiment_id}, timeout=30).status_code == 401
    assert api(live_server, "mlt_1.1:forged", "GET", "experiments/get", params={"experiment_id": experiment_id}).status_code == 401
    # MLflow itself answers nobody but the portal: the loopback port is open to every workspace of the machine.
    direct = requests.get(f"{tracking.url}/mlflow/api/2.0/mlflow/experiments/get", params={"experiment_id": experiment_id},
                          timeout=30)
    assert direct.status_code == 401
    # A personal token works too, and a read-only one reads only.
    reader = token_create(user=alice, name="reader", scope=AccessToken.Scope.READ)[1]
    assert api(live_server, reader, "GET", "runs/get", params={"run_id": run_id}).status_code == 200
    refused = api(live_server, reader, "POST", "runs/log-metric", json={"run_id": run_id, "key": "k", "value": 1, "timestamp": 0})
    assert refused.status_code == 403 and "your token only reads" in refused.json()["message"]
    writer = token_for(alice)
    assert api(live_server, writer, "POST", "runs/log-metric",
               json={"run_id": run_id, "key": "k", "value": 1, "timestamp": 0}).status_code == 200
    # Bad input is a 4xx that says what is wrong.
    cases = [
        (requests.post(f"{live_server.url}/mlflow/api/2.0/mlflow/runs/log-metric", data=b"{not json",
                       headers={"Authorization": f"Bearer {writer}", "Content-Type": "application/json"}, timeout=30), 400),
        (api(live_server, writer, "POST", "runs/log-metric", json=["a list"]), 400),
        (api(live_server, writer, "POST", "runs/log-metric", json={"key": "k", "value": 1}), 400),
        (api(live_server, writer, "POST", "runs/create", json={}), 400),
        (api(live_server, writer, "POST", "runs/search", json={"experiment_ids": "1"}), 400),
        (api(live_server, writer, "GET", "runs/get", params={"run_id": "no-such-run"}), 404),
        (api(live_server, writer, "GET", "experiments/get", params={"experiment_id": "999999"}), 404),
        (api(live_server, writer, "GET", "registered-models/search"), 403),
        # (requests drops dot segments from a URL's path, not from its query.)
        (requests.get(f"{live_server.url}/mlflow/api/2.0/mlflow-artifacts/artifacts", params={"path": f"{churn}/../../research"},
                      headers={"Authorization": f"Bearer {writer}"}, timeout=30), 400),
    ]
    for response, status in cases:
        assert response.status_code == status, (response.request.url, response.text)
        assert response.json()["message"]


def test_cross_origin_browser_requests_are_refused(live_server, settings, tracking, churn, alice):
    settings.PLATFORM_PUBLIC_URL = live_server.url
    browser = requests.Session()
    browser.get(f"{live_server.url}/accounts/login/")
    browser.post(f"{live_server.url}/accounts/login/", data={"username": "alice", "password": PASSWORD,
                                                               "csrfmiddlewaretoken": browser.cookies["csrftoken"]})
    url = f"{live_server.url}/mlflow/api/2.0/mlflow/experiments/create"
    # A page on a workspace's host (another origin, the same site) must not act with the portal session.
    refused = browser.post(url, json={"name": f"{churn}/x"}, headers={"Origin": "http://alice.localhost:1234"}, timeout=30)
    assert refused.status_code == 403
    made = browser.post(url, json={"name": f"{churn}/x"}, headers={"Origin": live_server.url}, timeout=30)
    assert made.status_code == 200, made.text
