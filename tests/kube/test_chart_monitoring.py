"""The chart's monitoring: the dashboard and rule files shipped as they are (one source with the tests'
Prometheus and `make run`), a PrometheusRule and PodMonitors only where the operator's CRDs exist, the
metrics token from the chart's Secret, probes on /healthz and /readyz (bad monitoring values: test_chart.py's
schema table)."""

import json

import yaml

from tests.kube.test_chart import by_kind, env_of, render
from tests.kube.tools import CHART, KUBE_VERSION, helm

FILES = CHART / "files"
OPERATOR = "--api-versions=monitoring.coreos.com/v1"


def test_the_dashboard_is_the_shipped_file_in_a_configmap_grafana_imports_by_label():
    configmap = by_kind(render(), "ConfigMap")["dsw-dashboard"]
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = (FILES / "grafana" / "dashboard.json").read_text()
    assert configmap["data"]["workspaces-platform.json"] == shipped.rstrip("\n")
    dashboard = json.loads(configmap["data"]["workspaces-platform.json"])
    assert dashboard["uid"] == "dsw-platform"
    assert all(target["expr"] for panel in dashboard["panels"] for target in panel["targets"])


def test_without_the_operator_the_rules_are_a_plain_rules_file_in_a_configmap():
    docs = render()
    assert not [d for d in docs if d["kind"] in ("PrometheusRule", "PodMonitor")]
    rules = by_kind(docs, "ConfigMap")["dsw-rules"]["data"]["workspaces-platform.rules.yml"]
    assert rules == (FILES / "prometheus" / "rules.yml").read_text().rstrip("\n")


def _render_with_operator(*sets):
    args = ["template", "dsw", str(CHART), "--namespace", "platform", "--kube-version", KUBE_VERSION, OPERATOR]
    for item in sets:
        args += ["--set", item]
    return [doc for doc in yaml.safe_load_all(helm(*args).stdout) if doc]


def test_with_the_operator_a_prometheusrule_and_podmonitors_with_the_token():
    docs = _render_with_operator("metrics.rules.labels.release=kube-prometheus-stack")
    assert "dsw-rules" not in by_kind(docs, "ConfigMap")
    rule = by_kind(docs, "PrometheusRule")["dsw-rules"]
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    shipped = yaml.safe_load((FILES / "prometheus" / "rules.yml").read_text())
    assert rule["spec"]["groups"] == shipped["groups"]
    alerts = {r["alert"] for group in shipped["groups"] for r in group["rules"]}
    assert {"DswLaunchesFailing", "DswLaunchesSlow", "DswWorkspacesStuckStarting", "DswWorkerDown", "DswHubDown",
            "DswBudgetExhausted"} <= alerts

    monitors = by_kind(docs, "PodMonitor")
    assert sorted(monitors) == ["dsw-hub-metrics", "dsw-portal-metrics", "dsw-worker-metrics"]
    jobs = {}
    for name, monitor in monitors.items():
        (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
        assert endpoint["authorization"] == {"type": "Bearer", "credentials": {"name": "dsw-secrets", "key": "metrics-token"}}
        jobs[name] = (monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"], endpoint["port"],
                      endpoint["path"], endpoint["relabelings"][0]["replacement"])
    # The job names the rules use (up{job="jupyterhub"}).
    assert jobs == {"dsw-hub-metrics": ("hub", "http", "/hub/metrics", "jupyterhub"),
                    "dsw-portal-metrics": ("portal", "http", "/metrics", "dsw-portal"),
                    "dsw-worker-metrics": ("worker", "metrics", "/metrics", "dsw-worker")}
    assert not by_kind(_render_with_operator("metrics.podMonitor.enabled=false"), "PodMonitor")


def test_the_token_comes_from_the_secret_and_probes_use_healthz_and_readyz():
    deployments = by_kind(render(), "Deployment")
    # Optional: an existingSecret made before metrics existed still starts the pods (metrics stay off).
    secret_ref = {"secretKeyRef": {"name": "dsw-secrets", "key": "metrics-token", "optional": True}}
    for name in ("dsw-portal", "dsw-worker", "dsw-beat", "dsw-hub"):
        assert env_of(deployments[name])["PLATFORM_METRICS_TOKEN"] == secret_ref, name
    portal = deployments["dsw-portal"]["spec"]["template"]["spec"]
    container = portal["containers"][0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    worker = deployments["dsw-worker"]["spec"]["template"]["spec"]
    worker_env = env_of(deployments["dsw-worker"])
    assert worker_env["PLATFORM_WORKER_METRICS_PORT"] == "9808"
    assert worker["containers"][0]["ports"] == [{"name": "metrics", "containerPort": 9808}]
    for pod, env in ((portal, env_of(deployments["dsw-portal"])), (worker, worker_env)):
        # Metric files on a volume of the pod's own (the root filesystem is read-only).
        assert env["PROMETHEUS_MULTIPROC_DIR"] == "/var/lib/dsw/metrics"
        mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert mounts["metrics"] == "/var/lib/dsw/metrics"
        assert {"name": "metrics", "emptyDir": {}} in pod["volumes"]
    assert env_of(deployments["dsw-portal"])["PLATFORM_LOG_FORMAT"] == "json"


def test_only_the_scrapers_reach_the_metrics_ports():
    policies = by_kind(render(), "NetworkPolicy")
    monitoring = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    worker = policies["dsw-worker-metrics"]["spec"]
    assert worker["ingress"] == [{"from": [monitoring], "ports": [{"protocol": "TCP", "port": 9808}]}]
    assert {"from": [monitoring], "ports": [{"protocol": "TCP", "port": 8000}]} in policies["dsw-portal"]["spec"]["ingress"]
    assert {"from": [monitoring], "ports": [{"protocol": "TCP", "port": 8081}]} in policies["dsw-hub"]["spec"]["ingress"]
    closed = by_kind(render(None, "metrics.scrapeFrom=null"), "NetworkPolicy")
    assert "dsw-worker-metrics" not in closed
    assert all(rule["from"] != [monitoring] for rule in closed["dsw-portal"]["spec"]["ingress"])

