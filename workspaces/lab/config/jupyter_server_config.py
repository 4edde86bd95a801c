# Loaded by each local workspace's Jupyter server: the launch spec puts this folder on
# JUPYTER_CONFIG_PATH (workspaces/lab/__init__.py). The person's own ~/.jupyter still wins.
import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by the config loader)

# The lab extension: a way back to the portal and the portal's warnings inside the lab. It reaches the
# portal (another origin) with this run's lab grant, never with the person's portal session.
c.LabApp.extra_labextensions_path = [str(Path(__file__).resolve().parent.parent / "labextensions")]
if os.environ.get("PLATFORM_PORTAL_URL") and os.environ.get("PLATFORM_LAB_GRANT"):
    c.ServerApp.tornado_settings = {"page_config_data": {"dswPortalUrl": os.environ["PLATFORM_PORTAL_URL"],
                                                         "dswLabGrant": os.environ["PLATFORM_LAB_GRANT"]}}

# Defaults for JupyterLab's settings (labsettings/overrides.json; a person's own settings still win). A notebook
# without a kernelspec (a published copy, one written by a script) starts the preferred kernel instead of
# JupyterLab 4.6's "Select Kernel" dialog.
c.LabApp.app_settings_dir = str(Path(__file__).resolve().parent / "labsettings")

# Project files (workspaces/project_files.py) arrive through the contents API with their `.git`, `.github`
# and `.gitignore`: the server must accept hidden paths. The files are the owner's own either way.
c.ContentsManager.allow_hidden = True

name, size = os.environ.get("PLATFORM_WORKSPACE_NAME"), os.environ.get("PLATFORM_WORKSPACE_SIZE")
if name:
    try:
        from jupyterlab.labapp import LabApp
    except ImportError:  # a server without JupyterLab: nothing to name
        pass
    else:
        # JupyterLab titles the tab "<document> - <appName>" and takes appName from LabApp.app_name, a
        # plain class attribute rather than a trait (so c.LabApp.app_name would be ignored). One
        # server process serves one workspace, so setting it on the class names only this lab.
        LabApp.app_name = f"{name} · {size}" if size else name

# The person's buckets (the launch spec's PLATFORM_BUCKETS_JSON) as ~/.platform/buckets.json, so code in
# the workspace can find them by name; the credentials themselves are the standard AWS_* variables.
_buckets = os.environ.get("PLATFORM_BUCKETS_JSON")
if _buckets:
    _folder = Path.home() / ".platform"
    try:
        _folder.mkdir(mode=0o700, exist_ok=True)
        (_folder / "buckets.json").write_text(_buckets + "\n")
    except OSError:  # a read-only home: the variable is still there
        pass
