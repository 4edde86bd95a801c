"""The Helm chart, offline: lint and render over a matrix of values files, every manifest checked
against the Kubernetes schemas (strict: unknown fields refused), and the values schema refusing
bad values with a message that names the value."""

import json
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.kube.tools import CHART, KUBE_VERSION, helm

VALUES = Path(__file__).parent / "values"
MATRIX = sorted(p.name for p in VALUES.glob("*.yaml"))


def render(values_file=None, *sets, release="dsw", namespace="platform"):
    args = ["template", release, str(CHART), "--namespace", namespace, "--kube-version", KUBE_VERSION]
    if values_file:
        args += ["-f", str(VALUES / values_file)]
    for item in sets:
        args += ["--set", item]
    return [doc for doc in yaml.safe_load_all(helm(*args).stdout) if doc]


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def env_of(deployment):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}


@pytest.mark.parametrize("values_file", MATRIX)
def test_lint_passes_strictly(values_file):
    result = helm("lint", "--strict", "--kube-version", KUBE_VERSION, str(CHART), "-f", str(VALUES / values_file))
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("values_file", MATRIX)
def test_every_rendered_manifest_is_valid_kubernetes(values_file):
    docs = render(values_file)
    assert len(docs) > 15
    for doc in docs:
        # Raises ValidationError naming the field (strict: fields the API does not know are errors too).
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


def test_defaults_render_every_component():
    docs = render()
    deployments = by_kind(docs, "Deployment")
    assert sorted(deployments) == ["dsw-beat", "dsw-hub", "dsw-portal", "dsw-proxy", "dsw-worker"]
    assert deployments["dsw-beat"]["spec"]["replicas"] == 1
    assert deployments["dsw-beat"]["spec"]["strategy"] == {"type": "Recreate"}
    assert sorted(by_kind(docs, "Service")) == ["dsw-hub", "dsw-portal", "dsw-proxy-api", "dsw-proxy-public"]
    assert sorted(by_kind(docs, "PodDisruptionBudget")) == ["dsw-portal", "dsw-worker"]
    job = by_kind(docs, "Job")["dsw-migrate"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert "manage.py migrate" in job["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    secret = by_kind(docs, "Secret")["dsw-secrets"]
    # Runs before the migration hook (lower weight), and survives uninstalls.
    assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert sorted(secret["data"]) == ["buckets-encryption-key", "configproxy-auth-token", "django-secret-key", "hub-api-token",
                                      "hub-oauth-client-secret", "metrics-token", "tracking-secret"]
    # No object store unless one is named: production never guesses an S3.
    assert not any(name.startswith("PLATFORM_S3_") for name in env_of(deployments["dsw-portal"]))
    assert "Ingress" not in {d["kind"] for d in docs}


def test_portal_and_hub_are_wired_together():
    deployments = by_kind(render(), "Deployment")
    portal, hub = env_of(deployments["dsw-portal"]), env_of(deployments["dsw-hub"])
    assert portal["PLATFORM_MODE"] == "production"
    assert portal["DATABASE_URL"] == {"secretKeyRef": {"name": "platform-database", "key": "url"}}
    assert portal["REDIS_URL"] == {"secretKeyRef": {"name": "platform-redis", "key": "url"}}
    assert portal["PLATFORM_HUB_API_URL"] == "http://dsw-hub:8081/hub/api"
    assert portal["PLATFORM_TRUSTED_PROXIES"] == "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"  # the proxy's pods
    assert hub["PLATFORM_SPAWNER"] == "kubernetes"
    assert hub["PLATFORM_PORTAL_INTERNAL_URL"] == "http://dsw-portal:8000"
    assert hub["PLATFORM_PROXY_API_URL"] == "http://dsw-proxy-api:8001"
    assert hub["PLATFORM_KUBE_NAMESPACE"] == "platform"
    # One shared secret each way: the portal's service token and the hub's OAuth client secret.
    for name in ("PLATFORM_HUB_API_TOKEN", "PLATFORM_HUB_OAUTH_CLIENT_SECRET"):
        assert portal[name] == hub[name] and portal[name]["secretKeyRef"]["name"] == "dsw-secrets"
    proxy = deployments["dsw-proxy"]["spec"]["template"]["spec"]["containers"][0]
    assert "--default-target=http://dsw-portal:8000" in proxy["command"]


def test_platform_pods_are_hardened():
    for name, deployment in by_kind(render(), "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        container = pod["containers"][0]["securityContext"]
        assert container == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                             "capabilities": {"drop": ["ALL"]}}, name
        if name != "dsw-hub":  # only the hub talks to the Kubernetes API
            assert pod["automountServiceAccountToken"] is False, name


def test_hub_rbac_is_least_privilege_in_one_namespace():
    docs = render()
    role = by_kind(docs, "Role")["dsw-hub"]
    assert role["metadata"]["namespace"] == "platform"
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods", "persistentvolumeclaims"], "verbs": ["get", "list", "watch", "create", "delete"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
        # Each person's S3 key goes into a Secret of theirs that the pod refers to, never into the pod spec;
        # the hub can write Secrets, not read them.
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "update"]},
    ]
    binding = by_kind(docs, "RoleBinding")["dsw-hub"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "dsw-hub", "namespace": "platform"}]
    assert "ClusterRole" not in {d["kind"] for d in docs}


def test_namespace_per_team_gets_cluster_rbac_and_quotas():
    docs = render("namespace-per-team.yaml")
    role = by_kind(docs, "ClusterRole")["dsw-hub"]
    assert {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["create"]} in role["rules"]
    hub = env_of(by_kind(docs, "Deployment")["dsw-hub"])
    assert hub["PLATFORM_KUBE_NAMESPACE_PER_TEAM"] == "true"
    assert json.loads(hub["PLATFORM_KUBE_TEAM_QUOTAS"])["research"]["requests.nvidia.com/gpu"] == "8"


def test_workspace_network_policy_allows_only_what_workspaces_need():
    policy = by_kind(render("external-db.yaml"), "NetworkPolicy")["dsw-workspaces"]
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchLabels": {"component": "singleuser-server", "app.kubernetes.io/instance": "dsw"}}
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    [ingress] = spec["ingress"]
    assert [peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in ingress["from"]] == ["proxy", "hub"]
    targets = [(rule["to"][0].get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component"),
                rule["to"][0].get("ipBlock", {}).get("cidr"), [p["port"] for p in rule["ports"]]) for rule in spec["egress"]]
    assert targets == [("hub", None, [8081]), ("portal", None, [8000]), (None, None, [53, 53]),
                       (None, "10.20.0.0/16", [443, 9000]), (None, "10.30.0.5/32", [443])]
    # No rule lets a workspace reach another workspace.
    assert all("singleuser-server" not in json.dumps(rule) for rule in spec["egress"])


def test_gpu_pools_reach_the_spawner():
    hub = env_of(by_kind(render("gpu-pools.yaml"), "Deployment")["dsw-hub"])
    gpu_types = json.loads(hub["PLATFORM_KUBE_GPU_TYPES"])
    assert gpu_types["a100-mig"] == {"resource": "nvidia.com/mig-1g.10gb", "nodeSelector": {"dsw/gpu-type": "a100-mig"},
                                     "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}
    assert hub["PLATFORM_KUBE_STORAGE_CLASS"] == "fast-ssd"
    assert hub["PLATFORM_KUBE_IMAGE_PULL_SECRETS"] == "platform-registry"


def test_ingress_with_tls():
    docs = render("ingress-tls.yaml")
    ingress = by_kind(docs, "Ingress")["dsw"]
    assert ingress["spec"]["tls"] == [{"hosts": ["workspaces.example.org"], "secretName": "workspaces-tls"}]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend == {"service": {"name": "dsw-proxy-public", "port": {"name": "http"}}}
    portal = env_of(by_kind(docs, "Deployment")["dsw-portal"])
    assert portal["PLATFORM_PUBLIC_URL"] == "https://workspaces.example.org"
    assert portal["DJANGO_ALLOWED_HOSTS"] == "workspaces.example.org,dsw-portal"


def test_a_node_port_names_the_public_url_and_django_gets_its_host_without_the_port():
    docs = render(None, "proxy.service.type=NodePort", "proxy.service.nodePort=31080", "publicUrl=http://10.20.30.1:31080")
    public = by_kind(docs, "Service")["dsw-proxy-public"]
    assert public["spec"]["type"] == "NodePort" and public["spec"]["ports"][0]["nodePort"] == 31080
    portal = env_of(by_kind(docs, "Deployment")["dsw-portal"])
    # Django compares the request's host without its port: "10.20.30.1:31080" here would answer 400 to everyone.
    assert portal["DJANGO_ALLOWED_HOSTS"] == "10.20.30.1,dsw-portal"
    assert portal["DJANGO_CSRF_TRUSTED_ORIGINS"] == "http://10.20.30.1:31080"


def test_images_by_digest_and_external_database_secrets():
    docs = render("external-db.yaml")
    deployments = by_kind(docs, "Deployment")
    assert deployments["dsw-portal"]["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "registry.example.org/dsw-portal@sha256:" + "1" * 64)
    assert env_of(deployments["dsw-hub"])["PLATFORM_KUBE_IMAGE"] == "registry.example.org/dsw-singleuser@sha256:" + "3" * 64
    portal = env_of(deployments["dsw-worker"])
    assert portal["DATABASE_URL"] == {"secretKeyRef": {"name": "corp-postgres", "key": "DATABASE_URL"}}
    assert portal["EMAIL_HOST"] == "smtp.example.org"


def test_object_storage_settings_and_admin_keys_come_from_secrets():
    docs = render("object-storage.yaml")
    deployments = by_kind(docs, "Deployment")
    job_env = {e["name"]: e.get("value", e.get("valueFrom")) for e in
               by_kind(docs, "Job")["dsw-migrate"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    for env in (env_of(deployments["dsw-portal"]), env_of(deployments["dsw-worker"]), env_of(deployments["dsw-beat"]), job_env):
        assert env["PLATFORM_S3_ENDPOINT_URL"] == "https://s3.eu-central-1.amazonaws.com"
        # Browsers and workspaces use the same endpoint unless told otherwise; IAM answers elsewhere on AWS.
        assert env["PLATFORM_S3_PUBLIC_URL"] == "https://s3.eu-central-1.amazonaws.com"
        assert env["PLATFORM_S3_IAM_ENDPOINT_URL"] == "https://iam.amazonaws.com"
        assert env["PLATFORM_S3_REGION"] == "eu-central-1"
        assert env["PLATFORM_BUCKETS_PREFIX"] == "acme-ds"
        assert env["PLATFORM_S3_ADMIN_ACCESS_KEY"] == {"secretKeyRef": {"name": "corp-s3-admin", "key": "access-key-id"}}
        assert env["PLATFORM_S3_ADMIN_SECRET_KEY"] == {"secretKeyRef": {"name": "corp-s3-admin", "key": "secret-access-key"}}
        assert env["PLATFORM_BUCKETS_ENCRYPTION_KEYS"] == {"secretKeyRef": {"name": "dsw-secrets", "key": "buckets-encryption-key"}}
    # The hub never holds the S3 admin key: the portal hands each launch its person's own key.
    assert not any(name.startswith("PLATFORM_S3_") for name in env_of(deployments["dsw-hub"]))


def test_object_storage_without_its_secret_is_refused_naming_it():
    result = helm("template", "dsw", str(CHART), "--kube-version", KUBE_VERSION,
                  "--set", "objectStorage.endpoint=https://s3.example.org", check=False)
    assert result.returncode != 0
    assert "objectStorage.existingSecret" in result.stderr


@pytest.mark.parametrize("sets, message", [
    (["portal.replica=3"], "at '/portal': additional properties 'replica' not allowed"),
    (["portal.replicas=0"], "at '/portal/replicas': minimum: got 0, want 1"),
    (["ingress.enabled=true"], "at '/ingress/host': minLength: got 0, want 1"),
    (["images.hub.digest=latest"], "at '/images/hub/digest': 'latest' does not match pattern"),
    (["publicUrl=workspaces.example.org"], "at '/publicUrl': 'workspaces.example.org' does not match pattern"),
    (["proxy.replicas=2"], "at '/proxy/replicas': maximum: got 2, want 1"),
    (["workspaces.gpuTypes.h100.nodeSelectors.x=y"], "at '/workspaces/gpuTypes/h100': additional properties 'nodeSelectors' not allowed"),
    (["workspaces.defaultStorage=ten gigs"], "at '/workspaces/defaultStorage': 'ten gigs' does not match pattern"),
    (["networkPolicy.registry.cidrs={10.0.0.1}"], "at '/networkPolicy/registry/cidrs/0': '10.0.0.1' does not match pattern"),
    (["objectStorage.endpoint=s3.example.org"], "at '/objectStorage/endpoint': 's3.example.org' does not match pattern"),
    (["objectStorage.bucketPrefix=Team_A"], "at '/objectStorage/bucketPrefix': 'Team_A' does not match pattern"),
    (["metrics.workerPort=80"], "at '/metrics/workerPort': minimum: got 80, want 1,024"),
    (["metrics.dashboards.enabled=true"], "at '/metrics': additional properties 'dashboards' not allowed"),
    (["metrics.podMonitor.interval=often"], "at '/metrics/podMonitor/interval': 'often' does not match pattern"),
    (["logFormat=xml"], "at '/logFormat': value must be one of"),
])
def test_schema_refuses_bad_values_naming_them(sets, message):
    args = ["template", "dsw", str(CHART), "--kube-version", KUBE_VERSION]
    for item in sets:
        args += ["--set", item]
    result = helm(*args, check=False)
    assert result.returncode != 0
    assert message in result.stderr
