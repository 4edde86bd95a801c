"""The one adapter to the MLflow server: its REST API, with the platform's secret, and results as dataclasses.

Every call raises TrackingUnavailable when MLflow cannot answer (down, timing out, a 5xx), so callers show
"tracking is unavailable" rather than fail.
"""

import json
from dataclasses import dataclass

import requests
from django.conf import settings

SECRET_HEADER = "X-Platform-Tracking-Secret"
_session = requests.Session()


class TrackingUnavailable(Exception):
    pass


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    experiment_id: str
    name: str
    status: str
    start_time: int
    metrics: tuple  # ((key, value), …), sorted by key


def _url(path):
    return f"{settings.PLATFORM_TRACKING_URL}/mlflow{path}"


def send(method, path, *, params=None, data=None, headers=None, stream=False, long=False):
    """One request to MLflow as the portal (the secret added); the raw response, any status but 5xx. `long`:
    an artifact transfer, which may take minutes (only connecting must be quick)."""
    if not settings.PLATFORM_TRACKING_URL:
        raise TrackingUnavailable("No tracking server is configured.")
    try:
        response = _session.request(method, _url(path), params=params, data=data, stream=stream,
                                    headers={**(headers or {}), SECRET_HEADER: settings.PLATFORM_TRACKING_SECRET},
                                    timeout=(settings.PLATFORM_TRACKING_TIMEOUT, 600) if long else
                                    settings.PLATFORM_TRACKING_TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        raise TrackingUnavailable(str(exc)) from exc
    if response.status_code >= 500 and response.status_code != 501:
        response.close()
        raise TrackingUnavailable(f"MLflow answered {response.status_code}.")
    return response


def _json(method, path, *, params=None, body=None):
    response = send(method, path, params=params, data=None if body is None else json.dumps(body),
                    headers={"Content-Type": "application/json"})
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise TrackingUnavailable(f"MLflow answered {response.status_code}: {response.text[:200]}")
    return response.json()


def experiment_get(experiment_id):
    """The experiment, or None when there is none of that id."""
    found = _json("GET", "/api/2.0/mlflow/experiments/get", params={"experiment_id": experiment_id})
    if found is None:
        return None
    experiment = found["experiment"]
    return Experiment(experiment["experiment_id"], experiment["name"])


def run_experiment_id(run_id):
    """The experiment a run is in, or None when there is no such run."""
    found = _json("GET", "/api/2.0/mlflow/runs/get", params={"run_id": run_id})
    return None if found is None else found["run"]["info"]["experiment_id"]


def experiments_named_like(prefix):
    """Live experiments whose names start with `prefix` (every page)."""
    experiments, token = [], None
    escaped = prefix.replace("'", "\\'")
    while True:
        body = {"max_results": 1000, "filter": f"name LIKE '{escaped}%'", "view_type": "ACTIVE_ONLY"}
        if token:
            body["page_token"] = token
        page = _json("POST", "/api/2.0/mlflow/experiments/search", body=body) or {}
        experiments += [Experiment(item["experiment_id"], item["name"]) for item in page.get("experiments", [])]
        token = page.get("next_page_token")
        if not token:
            return experiments


def runs_latest(experiment_ids, *, limit):
    """The latest runs of these experiments, newest first."""
    if not experiment_ids:
        return []
    page = _json("POST", "/api/2.0/mlflow/runs/search", body={
        "experiment_ids": list(experiment_ids), "max_results": limit, "order_by": ["attributes.start_time DESC"]}) or {}
    runs = []
    for run in page.get("runs", []):
        info, data = run["info"], run.get("data", {})
        metrics = tuple(sorted((item["key"], item["value"]) for item in data.get("metrics", [])))
        runs.append(RunSummary(info["run_id"], info["experiment_id"], info.get("run_name", ""), info["status"],
                               int(info.get("start_time") or 0), metrics))
    return runs
