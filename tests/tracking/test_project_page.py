"""The project page lists the project's experiments and latest runs (name, status, key metrics) read through
MLflow's REST API, links MLflow's compare view, and says so when MLflow does not answer; workspaces start
regardless."""

import pytest

from tests.conftest import free_port
from tests.tracking.helpers import client_as, log_runs

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_page_shows_the_latest_runs_and_compares_them(tracking, live_server, monkeypatch, client, churn, alice, bob,
                                                          carol):
    mlflow = client_as(monkeypatch, live_server, alice)
    experiment_id, (first, second) = log_runs(mlflow, str(churn), [("baseline", {"rmse": 0.31, "mae": 0.2}),
                                                                   ("tuned", {"rmse": 0.25})])
    for viewer in (alice, bob):  # the project's member, and its team who reads
        client.force_login(viewer)
        page = client.get(f"/projects/{churn.pk}/").content.decode()
        assert page.index("tuned") < page.index("baseline")  # newest first
        assert "mae = 0.2; rmse = 0.31" in page and "rmse = 0.25" in page and "finished" in page
        assert f'href="/mlflow/#/experiments/{experiment_id}"' in page
        assert f"/mlflow/#/compare-runs?runs=%5B%22{second}%22%2C%22{first}%22%5D&amp;experiments=%5B%22{experiment_id}%22%5D" in page
    client.force_login(carol)
    assert client.get(f"/projects/{churn.pk}/").status_code == 404


def test_tracking_down_the_page_says_so_and_the_api_answers_503(settings, client, churn, alice):
    settings.PLATFORM_TRACKING_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    client.force_login(alice)
    page = client.get(f"/projects/{churn.pk}/")
    assert page.status_code == 200
    assert "Experiment tracking is unavailable at the moment" in page.content.decode()
    answer = client.get("/mlflow/api/2.0/mlflow/experiments/get", {"experiment_id": "1"})
    assert answer.status_code == 503 and answer.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"


def test_no_tracking_configured_no_section(settings, client, churn, alice):
    settings.PLATFORM_TRACKING_URL = ""
    client.force_login(alice)
    assert 'id="project-tracking"' not in client.get(f"/projects/{churn.pk}/").content.decode()
