# Loaded by each local workspace's Jupyter server: the launch spec puts this folder on
# JUPYTER_CONFIG_PATH (workspaces/lab/__init__.py). The person's own ~/.jupyter still wins.
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (provided by the config loader)

# The lab extension: a way back to the portal and the portal's warnings inside the lab. It reaches the
# portal (another origin) with this run's lab grant, never with the person's portal session.
c.LabApp.extra_labextensions_path = [str(Path(__file__).resolve().parent.parent / "labextensions")]
_tornado_settings = {}
if os.environ.get("PLATFORM_PORTAL_URL") and os.environ.get("PLATFORM_LAB_GRANT"):
    _tornado_settings["page_config_data"] = {"dswPortalUrl": os.environ["PLATFORM_PORTAL_URL"],
                                             "dswLabGrant": os.environ["PLATFORM_LAB_GRANT"]}

# Defaults for JupyterLab's settings (labsettings/overrides.json; a person's own settings still win). A notebook
# without a kernelspec (a published copy, one written by a script) starts the preferred kernel instead of
# JupyterLab 4.6's "Select Kernel" dialog.
c.LabApp.app_settings_dir = str(Path(__file__).resolve().parent / "labsettings")

# A kernel warmed while the lab loads, for the first notebook (dsw_warm_kernel.py, next to this file). A
# person's own kernel manager class (their ~/.jupyter) turns it off.
sys.path.insert(0, str(Path(__file__).resolve().parent))
try:
    import dsw_warm_kernel  # noqa: F401  (needs jupyter_server; a server without it has no kernels to warm)
except ImportError:
    pass
else:
    c.ServerApp.kernel_manager_class = "dsw_warm_kernel.WarmKernelManager"
    c.ServerApp.jpserver_extensions.update({"dsw_warm_kernel": True})

# JupyterLab's bundle from one address for every workspace (workspaces/lab_static.py), so the browser's cache
# serves it at the next launch: only when this server's JupyterLab is the build that address names.
_lab_static = os.environ.get("PLATFORM_LAB_STATIC_URL", "")
if _lab_static:
    try:
        from jupyterlab.commands import get_app_dir
    except ImportError:
        pass
    else:
        _build = _lab_static.rstrip("/").rsplit("/", 1)[-1]
        if (Path(get_app_dir()) / "static" / f"main.{_build}.js").is_file():
            c.LabApp.override_static_url = _lab_static

# The lab's extensions from the portal too (workspaces/lab_static.py), when this lab finds exactly the ones the
# portal serves, from the same folders: an extension of the person's own (or one shadowing the platform's) keeps
# every extension at this server's own address.
_lab_extensions = os.environ.get("PLATFORM_LAB_EXTENSIONS", "")
if _lab_extensions:
    import dsw_lab_extensions  # noqa: E402  (next to this file)

    _tornado_settings["page_config_hook"] = dsw_lab_extensions.page_config_hook(_lab_extensions)

if _tornado_settings:
    c.ServerApp.tornado_settings = _tornado_settings

# The person's JupyterLab settings and saved layouts in this workspace's own home. JupyterLab computes both
# folders when jupyterlab.labapp is imported, and the fork server (spawner/zygote.py) imports it before it forks,
# with its own HOME: every forked server shared the hub's account's ~/.jupyter/lab (a new workspace reopened
# another's notebooks; a server running as a person's account could not save its settings there at all).
try:
    from jupyterlab.commands import get_user_settings_dir, get_workspaces_dir
except ImportError:
    pass
else:
    c.LabApp.user_settings_dir = get_user_settings_dir()
    c.LabApp.workspaces_dir = get_workspaces_dir()

# JupyterLab's extension manager lists the installed extensions without offering installs from PyPI: a local
# workspace's Python is the platform's, shared by every workspace, and an image's environment changes through
# an image build (the user guide's "Your own image"). It also spares each server the PyPI client's set-up.
c.LabApp.extension_manager = "readonly"

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
