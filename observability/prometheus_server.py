"""Running Debian's `prometheus` next to the platform: its configuration, shared by `make run`
(PLATFORM_PROMETHEUS=1) and the test suite, with the chart's own rule files (one source of truth:
helm/datascience-workspaces/files/prometheus/)."""

import json
import shutil
from pathlib import Path

from django.conf import settings

PROMETHEUS_BINARY = "prometheus"
CHART_FILES = Path(settings.BASE_DIR) / "helm" / "datascience-workspaces" / "files"
RULE_FILES = (CHART_FILES / "prometheus" / "rules.yml",)
DASHBOARD = CHART_FILES / "grafana" / "dashboard.json"
# The job names the shipped rules and dashboard expect (the chart's scrape configuration uses them too).
PORTAL_JOB, HUB_JOB = "dsw-portal", "jupyterhub"


def prometheus_installed():
    return shutil.which(PROMETHEUS_BINARY) is not None


def prometheus_config(*, portal_target, hub_target, token_file, scrape_interval="15s"):
    """Scrape the portal's /metrics and the hub's /hub/metrics with the metrics token (a file, so the token
    is in no command line and no configuration a person might paste somewhere), and load the shipped rules."""
    authorization = {"type": "Bearer", "credentials_file": str(token_file)}
    return {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "rule_files": [str(path) for path in RULE_FILES],
        "scrape_configs": [
            {"job_name": PORTAL_JOB, "metrics_path": "/metrics", "authorization": authorization,
             "static_configs": [{"targets": [portal_target]}]},
            {"job_name": HUB_JOB, "metrics_path": "/hub/metrics", "authorization": authorization,
             "static_configs": [{"targets": [hub_target]}]},
        ],
    }


def prometheus_files_write(folder, *, portal_target, hub_target, scrape_interval="15s"):
    """Write the token file and the configuration (JSON, which is YAML) into `folder`; returns the config's path."""
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    token_file = folder / "metrics_token"
    token_file.write_text(settings.PLATFORM_METRICS_TOKEN)
    token_file.chmod(0o600)
    config = folder / "prometheus.yml"
    config.write_text(json.dumps(prometheus_config(portal_target=portal_target, hub_target=hub_target,
                                                   token_file=token_file, scrape_interval=scrape_interval), indent=2))
    config.chmod(0o600)
    return config


def prometheus_command(*, config, data_dir, listen):
    return [shutil.which(PROMETHEUS_BINARY) or PROMETHEUS_BINARY, f"--config.file={config}",
            f"--storage.tsdb.path={data_dir}", f"--web.listen-address={listen}", "--storage.tsdb.retention.time=15d",
            # The console templates of Debian's package live elsewhere; the graph page and API need none.
            "--log.level=warn"]
