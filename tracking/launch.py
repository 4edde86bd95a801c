"""What a workspace gets from the tracking app: the one function workspaces/launch.py calls."""

from django.conf import settings

from tracking.tokens import tracking_token_for


def tracking_env(*, user, workspace_id, project=None):
    """The variables MLflow's client reads, so `import mlflow; mlflow.log_metric(…)` works with no set-up: the
    platform's route, a token of the workspace's owner and, in a project's workspace, the project's experiment.
    Computes, never calls MLflow: a tracking outage never blocks a launch."""
    if not settings.PLATFORM_TRACKING_URL:
        return {}
    env = {"MLFLOW_TRACKING_URI": f"{settings.PLATFORM_PUBLIC_URL}/mlflow",
           "MLFLOW_TRACKING_TOKEN": tracking_token_for(user=user, workspace_id=workspace_id),
           # MLflow 3 reports usage to its makers unless told not to; the platform may run air-gapped.
           "MLFLOW_DISABLE_TELEMETRY": "true"}
    if project is not None:
        env["MLFLOW_EXPERIMENT_NAME"] = str(project)
    return env
