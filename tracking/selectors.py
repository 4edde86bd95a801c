"""What the portal shows of a project's experiments, read through MLflow's REST API."""

import json
from dataclasses import dataclass, field
from urllib.parse import quote

from django.conf import settings

from tracking import mlflow_client
from tracking.names import ProjectKey, project_of_experiment

KEY_METRICS = 3


@dataclass(frozen=True)
class RunRow:
    run: mlflow_client.RunSummary
    url: str
    metrics: tuple  # the first KEY_METRICS (key, value) pairs


@dataclass(frozen=True)
class ProjectTracking:
    configured: bool
    available: bool
    namespace: str
    experiments: list = field(default_factory=list)  # (Experiment, url)
    runs: list = field(default_factory=list)  # RunRow
    compare_url: str = ""


def _ui(fragment):
    return f"/mlflow/#/{fragment}"


def project_tracking(*, project, limit=10):
    """The project's experiments and latest runs, or `available=False` when MLflow does not answer (the page
    says so; nothing else on it depends on MLflow)."""
    key = ProjectKey(project.team.slug, project.slug)
    if not settings.PLATFORM_TRACKING_URL:
        return ProjectTracking(configured=False, available=False, namespace=str(key))
    try:
        experiments = [experiment for experiment in mlflow_client.experiments_named_like(str(key))
                       if project_of_experiment(experiment.name) == key]
        runs = mlflow_client.runs_latest([experiment.experiment_id for experiment in experiments], limit=limit)
    except mlflow_client.TrackingUnavailable:
        return ProjectTracking(configured=True, available=False, namespace=str(key))
    rows = [RunRow(run, _ui(f"experiments/{run.experiment_id}/runs/{run.run_id}"), run.metrics[:KEY_METRICS])
            for run in runs]
    compare = ""
    if len(runs) >= 2:
        ids = json.dumps([run.run_id for run in runs], separators=(",", ":"))
        experiment_ids = json.dumps(sorted({run.experiment_id for run in runs}), separators=(",", ":"))
        compare = _ui(f"compare-runs?runs={quote(ids)}&experiments={quote(experiment_ids)}")
    return ProjectTracking(configured=True, available=True, namespace=str(key),
                           experiments=[(experiment, _ui(f"experiments/{experiment.experiment_id}"))
                                        for experiment in experiments],
                           runs=rows, compare_url=compare)
