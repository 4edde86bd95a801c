"""MLflow's server app as the platform runs it (`mlflow server --app-name platform`): MLflow's own ASGI app,
answering only requests that carry the platform's secret.

MLflow listens on loopback, where every workspace of the machine can reach it too; MLflow itself checks no one.
So the portal, which decides what each person may do (tracking/gateway.py), adds a secret only it and MLflow
know, and everything else gets 401. Loaded in the MLflow process: no Django here.
"""

import asyncio
import hmac
import os
from urllib.parse import urlsplit

from mlflow.server.fastapi_app import app as mlflow_app

SECRET_ENV = "PLATFORM_TRACKING_SECRET"
_HEADER = b"x-platform-tracking-secret"
# Probes (kubelet, platform_run's readiness) learn only that MLflow is up.
_OPEN = {"/health", "/mlflow/health"}


def _bucket_ensure():
    """Create the artifacts bucket when missing (idempotent). Here, not at start-up: under `make run` the object
    store may come up after MLflow, and only an artifact write needs the bucket."""
    import boto3
    from mlflow.server import ARTIFACTS_DESTINATION_ENV_VAR

    destination = urlsplit(os.environ.get(ARTIFACTS_DESTINATION_ENV_VAR, ""))
    if destination.scheme != "s3":
        return
    s3 = boto3.client("s3", endpoint_url=os.environ.get("MLFLOW_S3_ENDPOINT_URL") or None)
    try:
        s3.head_bucket(Bucket=destination.netloc)
    except s3.exceptions.ClientError:
        try:
            s3.create_bucket(Bucket=destination.netloc)
        except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
            pass


class SecretRequired:
    def __init__(self, app, secret):
        if not secret:
            raise RuntimeError(f"{SECRET_ENV} is not set: MLflow would answer anyone.")
        self.app, self.secret = app, secret.encode()
        self.bucket_ready = False

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] not in _OPEN:
            given = dict(scope["headers"]).get(_HEADER, b"")
            if not hmac.compare_digest(given, self.secret):
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body",
                            "body": b'{"error_code": "UNAUTHENTICATED", "message": "Reach MLflow through the platform."}'})
                return
            if not self.bucket_ready and "/mlflow-artifacts/" in scope["path"] and scope["method"] in ("PUT", "POST"):
                await asyncio.to_thread(_bucket_ensure)
                self.bucket_ready = True
        await self.app(scope, receive, send)


app = SecretRequired(mlflow_app, os.environ.get(SECRET_ENV, ""))
