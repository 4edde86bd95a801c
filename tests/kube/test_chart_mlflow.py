"""The chart's MLflow: a Deployment and Service only when enabled, reached by the portal alone (its secret and
a NetworkPolicy), with its store and artifacts where the values say; bad values refused with a message."""

import pytest

from tests.kube.test_chart import by_kind, env_of, render


def test_off_by_default():
    docs = render()
    assert "dsw-mlflow" not in by_kind(docs, "Deployment") and "dsw-mlflow" not in by_kind(docs, "Service")
    assert "PLATFORM_TRACKING_URL" not in env_of(by_kind(docs, "Deployment")["dsw-portal"])


def test_enabled_mlflow_is_wired_to_the_portal_the_store_and_the_bucket():
    docs = render("mlflow.yaml")
    deployment = by_kind(docs, "Deployment")["dsw-mlflow"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    command = container["command"]
    assert command[:4] == ["python", "-m", "mlflow", "server"]
    assert command[command.index("--artifacts-destination") + 1] == "s3://acme-ds-mlflow/"
    assert command[command.index("--app-name") + 1] == "platform"  # answers only with the platform's secret
    assert command[command.index("--static-prefix") + 1] == "/mlflow"
    env = env_of(deployment)
    assert env["MLFLOW_BACKEND_STORE_URI"] == {"secretKeyRef": {"name": "corp-mlflow-db", "key": "url"}}
    assert env["PLATFORM_TRACKING_SECRET"] == {"secretKeyRef": {"name": "dsw-secrets", "key": "tracking-secret"}}
    assert env["AWS_SECRET_ACCESS_KEY"] == {"secretKeyRef": {"name": "corp-s3-admin", "key": "secret-access-key"}}
    assert env["MLFLOW_S3_ENDPOINT_URL"] == "https://s3.eu-central-1.amazonaws.com"
    assert container["readinessProbe"]["httpGet"]["path"] == "/mlflow/health"
    assert deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] is False

    service = by_kind(docs, "Service")["dsw-mlflow"]
    assert service["spec"]["ports"][0]["port"] == 5000
    portal = env_of(by_kind(docs, "Deployment")["dsw-portal"])
    assert portal["PLATFORM_TRACKING_URL"] == "http://dsw-mlflow:5000"
    assert portal["PLATFORM_TRACKING_BUCKET"] == "acme-ds-mlflow"
    assert portal["PLATFORM_TRACKING_SECRET"] == env["PLATFORM_TRACKING_SECRET"]

    policy = by_kind(docs, "NetworkPolicy")["dsw-mlflow"]
    peers = policy["spec"]["ingress"][0]["from"]
    assert [peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in peers] == ["portal"]


def test_mlflow_needs_the_object_store():
    with pytest.raises(AssertionError) as refused:  # helm failed
        render(None, "mlflow.enabled=true")
    assert "mlflow.enabled: MLflow keeps artifacts in the object store; set objectStorage.endpoint" in str(refused.value)


@pytest.mark.parametrize("setting, message", [
    ("mlflow.workers=0", "mlflow.workers"),
    ("mlflow.bucket=Not_A_Bucket", "mlflow.bucket"),
    ("mlflow.unknown=1", "mlflow"),
])
def test_bad_values_are_refused_naming_the_value(setting, message):
    with pytest.raises(AssertionError) as refused:  # helm failed
        render("mlflow.yaml", setting)
    assert message in str(refused.value)
