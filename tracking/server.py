"""The MLflow tracking server as the platform runs it: shared by `make run` (platform_run), the tests and the
benchmark, so each runs the same command. MLflow serves its UI and API under /mlflow (the path the platform's
public origin gives it), on loopback, proxying artifacts to the platform's tracking bucket (`--serve-artifacts`:
clients never get S3 credentials for it), and answers only the portal (tracking/mlflow_app.py).
"""

import sys

STATIC_PREFIX = "/mlflow"


def mlflow_command(*, port, backend_store_uri, artifacts_destination, host="127.0.0.1", workers=1, app_name="platform",
                   allowed_hosts=""):
    """`app_name=None` runs MLflow's own app with no secret (the benchmark's bare baseline)."""
    command = [sys.executable, "-m", "mlflow", "server", "--host", host, "--port", str(port),
               "--backend-store-uri", backend_store_uri, "--serve-artifacts", "--artifacts-destination",
               artifacts_destination, "--static-prefix", STATIC_PREFIX, "--workers", str(workers)]
    if app_name:
        command += ["--app-name", app_name]
    if allowed_hosts:
        command += ["--allowed-hosts", allowed_hosts]
    return command


def mlflow_environment(*, secret, s3_endpoint_url, s3_access_key, s3_secret_key, s3_region):
    """MLflow's variables: the portal's secret, and the object store it writes artifacts to with the platform's
    own S3 identity. No telemetry: the platform may run air-gapped, and nobody agreed to it.

    No job execution: MLflow 3 starts eight job consumers by default (GenAI scorers, prompt optimisation, trace
    roll-ups: none of which the platform offers) that poll their queue without pause, about 0.8 of a CPU core
    between them, all the time; on the 2-core machine that was a third of what JupyterLab had to load with."""
    env = {"PLATFORM_TRACKING_SECRET": secret, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
           "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
           "AWS_ACCESS_KEY_ID": s3_access_key, "AWS_SECRET_ACCESS_KEY": s3_secret_key, "AWS_DEFAULT_REGION": s3_region}
    if s3_endpoint_url:
        env["MLFLOW_S3_ENDPOINT_URL"] = s3_endpoint_url
    return env


def embedded_mlflow(*, port):
    """(argv, env, a line for people) for `make run`, or (None, None, a line) when tracking is off or external."""
    from django.conf import settings

    url = settings.PLATFORM_TRACKING_URL
    if not url:
        return None, None, "No experiment tracking: PLATFORM_TRACKING_URL is empty."
    if url != f"http://127.0.0.1:{port}":
        return None, None, f"Experiment tracking: MLflow at {url} (external)"
    if not settings.PLATFORM_S3_ENDPOINT_URL:
        return None, None, "No experiment tracking: MLflow keeps artifacts in the object store, and none is configured."
    store = settings.PLATFORM_TRACKING_BACKEND_STORE_URI
    if store.startswith("sqlite:///"):
        from pathlib import Path

        Path(store[len("sqlite:///"):]).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    command = mlflow_command(port=port, backend_store_uri=store,
                             artifacts_destination=f"s3://{settings.PLATFORM_TRACKING_BUCKET}/")
    env = mlflow_environment(secret=settings.PLATFORM_TRACKING_SECRET, s3_endpoint_url=settings.PLATFORM_S3_ENDPOINT_URL,
                             s3_access_key=settings.PLATFORM_S3_ADMIN_ACCESS_KEY,
                             s3_secret_key=settings.PLATFORM_S3_ADMIN_SECRET_KEY, s3_region=settings.PLATFORM_S3_REGION)
    return command, env, f"Experiment tracking: {settings.PLATFORM_PUBLIC_URL}/mlflow/  (MLflow on 127.0.0.1:{port})"
