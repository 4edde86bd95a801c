"""Logging runs the way a workspace does: MLflow's own client, through the live portal's /mlflow/ route, with a
workspace token of the person."""

from mlflow import MlflowClient

from tracking.tokens import tracking_token_for


def client_as(monkeypatch, live_server, user, workspace_id=1):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", tracking_token_for(user=user, workspace_id=workspace_id))
    # A refusal is final: MLflow's client would retry 4xx/5xx answers for minutes.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    return MlflowClient(tracking_uri=f"{live_server.url}/mlflow")


def log_runs(client, experiment_name, runs):
    """`runs`: [(name, {metric: value})]; returns the experiment's id and the runs' ids in order."""
    experiment = client.get_experiment_by_name(experiment_name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(experiment_name)
    ids = []
    for name, metrics in runs:
        run = client.create_run(experiment_id, run_name=name)
        for key, value in metrics.items():
            client.log_metric(run.info.run_id, key, value)
        client.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)
    return experiment_id, ids
