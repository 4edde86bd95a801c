"""A quiet, branded JupyterLab for local workspaces, delivered per server through the launch spec.

`config/` goes on the server's JUPYTER_CONFIG_PATH: its `jupyter_server_config.py` names the lab
after the workspace and its size (the browser tab's title) and adds `labextensions/`, a small
prebuilt lab extension (plain JavaScript, no build step) with a way back to the portal and the
portal's automatic-stop warnings inside the lab; `labconfig/page_config.json` turns off JupyterLab's
news and update check (no "Would you like to get notified about official Jupyter news?").

Jupyter servers load this folder, so nothing here imports Django or the portal (import contract
in pyproject.toml).
"""

from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent / "config"
LABEXTENSIONS_DIR = Path(__file__).resolve().parent / "labextensions"
EXTENSION_NAME = "@datascience-workspaces/lab"


def lab_env(*, size, portal_url, grant, config_dir=CONFIG_DIR):
    """Environment for a workspace's server. `config_dir` is where that server sees `config/`: this folder
    for a server run from a Python on this machine, the copy inside an image's container otherwise (the
    spawner's CONTAINER_LAB_DIR). `grant` is the run's lab grant (workspaces/lab_access.py): the
    extension's only credential at the portal."""
    return {"JUPYTER_CONFIG_PATH": str(config_dir), "PLATFORM_WORKSPACE_SIZE": size, "PLATFORM_PORTAL_URL": portal_url,
            "PLATFORM_LAB_GRANT": grant}
