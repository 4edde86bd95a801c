"""`helm install` of the chart into the real test API server: every object is accepted, the migration
hook really migrates a fresh PostgreSQL database, and an upgrade keeps the generated secrets."""

import base64
import os
import uuid

import psycopg
import pytest
import yaml

from tests.kube.tools import CHART, helm

NAMESPACE = "platform"
# The test API server's certificate is self-signed (loopback only).
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


@pytest.fixture(scope="module")
def database_url():
    """A fresh database on the suite's PostgreSQL server, for the chart's migration job."""
    base = os.environ["DATABASE_URL"]
    name = f"dsw_helm_{uuid.uuid4().hex[:8]}"
    admin = base.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield base.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def installed(cluster, kubelet, database_url):
    cluster.ensure_namespace(NAMESPACE)
    for name, url in (("platform-database", database_url), ("platform-redis", os.environ["REDIS_URL"])):
        cluster.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
                       "stringData": {"url": url}}, path=f"/api/v1/namespaces/{NAMESPACE}/secrets")
    values = ["--set", "ingress.enabled=true", "--set", "ingress.host=workspaces.example.org",
              "--set", "ingress.tls.enabled=true", "--set-json",
              'workspaces.gpuTypes={"h100": {"nodeSelector": {"dsw/gpu-type": "h100"}}}']
    result = helm("install", "dsw", str(CHART), "--namespace", NAMESPACE, "--kubeconfig", str(cluster.kubeconfig),
                  "--timeout", "5m", *values, check=False)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\nkubelet: {kubelet.errors}"
    return values


def manifest_objects(cluster):
    text = helm("get", "manifest", "dsw", "--namespace", NAMESPACE, "--kubeconfig", str(cluster.kubeconfig)).stdout
    return [doc for doc in yaml.safe_load_all(text) if doc]


def api_path(doc):
    group_version, kind = doc["apiVersion"], doc["kind"]
    plural = {"NetworkPolicy": "networkpolicies", "PodDisruptionBudget": "poddisruptionbudgets", "Ingress": "ingresses"}.get(kind, kind.lower() + "s")
    prefix = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    namespace = doc["metadata"].get("namespace", NAMESPACE)
    return f"{prefix}/namespaces/{namespace}/{plural}/{doc['metadata']['name']}"


def test_every_object_of_the_release_is_in_the_cluster(cluster, installed):
    docs = manifest_objects(cluster)
    kinds = {doc["kind"] for doc in docs}
    assert {"Deployment", "Service", "Ingress", "NetworkPolicy", "PodDisruptionBudget", "Role", "RoleBinding",
            "ServiceAccount", "PersistentVolumeClaim"} <= kinds
    for doc in docs:
        live = cluster.api("GET", api_path(doc))
        assert live["metadata"]["name"] == doc["metadata"]["name"]
    policies = cluster.api("GET", f"/apis/networking.k8s.io/v1/namespaces/{NAMESPACE}/networkpolicies")["items"]
    assert {p["metadata"]["name"] for p in policies} == {"dsw-workspaces", "dsw-hub", "dsw-proxy", "dsw-portal",
                                                          "dsw-no-ingress", "dsw-worker-metrics"}


def test_the_migration_hook_migrated_the_database(installed, database_url):
    with psycopg.connect(database_url) as connection:
        applied = connection.execute("SELECT count(*) FROM django_migrations WHERE app = 'workspaces'").fetchone()[0]
        client = connection.execute("SELECT client_id, skip_authorization FROM oauth2_provider_application").fetchall()
    assert applied >= 1
    assert client == [("jupyterhub", True)]  # the hub registered as the portal's OAuth client


def test_an_upgrade_keeps_the_generated_secrets(cluster, installed):
    path = f"/api/v1/namespaces/{NAMESPACE}/secrets/dsw-secrets"
    before = cluster.api("GET", path)["data"]
    assert len(base64.b64decode(before["hub-api-token"])) == 50
    result = helm("upgrade", "dsw", str(CHART), "--namespace", NAMESPACE, "--kubeconfig", str(cluster.kubeconfig),
                  "--timeout", "5m", *installed, check=False)
    assert result.returncode == 0, result.stderr
    assert cluster.api("GET", path)["data"] == before


def test_the_hub_service_account_may_do_exactly_what_the_spawner_needs(cluster, installed):
    """RBAC checked by the API server itself (SelfSubjectAccessReview as the hub's ServiceAccount)."""
    import requests

    token = cluster.token_for(NAMESPACE, "dsw-hub")

    def allowed(verb, resource, namespace=NAMESPACE):
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                  "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "namespace": namespace}}}
        answer = requests.post(f"{cluster.url}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json=review,
                               headers={"Authorization": f"Bearer {token}"}, verify=False, timeout=10)
        return answer.json()["status"]["allowed"]

    for verb in ("create", "delete", "get", "list", "watch"):
        assert allowed(verb, "pods") and allowed(verb, "persistentvolumeclaims")
    assert allowed("watch", "events")
    assert not allowed("get", "secrets")
    assert not allowed("create", "deployments")
    assert not allowed("create", "pods", namespace="kube-system")
    assert not allowed("create", "namespaces", namespace="")
