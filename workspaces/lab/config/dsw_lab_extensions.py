"""The page-config hook that points JupyterLab at the portal's copy of its extensions (workspaces/lab_static.py).

Loaded by workspaces' Jupyter servers (jupyter_server_config.py, next to this file): nothing here imports Django.
"""

import json
from functools import cache


@cache
def _extension_folders(paths):
    """{name: folder} of the federated extensions JupyterLab finds on `paths` (a tuple), or None without it."""
    try:
        from jupyterlab_server.config import get_federated_extensions
    except ImportError:
        return None
    return {name: data["ext_path"] for name, data in get_federated_extensions(list(paths)).items()}


def page_config_hook(offer):
    """A `page_config_hook` for tornado_settings. `offer` is PLATFORM_LAB_EXTENSIONS: {"url": …, "extensions":
    {name: folder}} as the portal serves them."""
    offer = json.loads(offer)

    def hook(handler, page_config):
        app = handler.extensionapp
        if _extension_folders(tuple(app.extra_labextensions_path + app.labextensions_path)) == offer["extensions"]:
            page_config["fullLabextensionsUrl"] = offer["url"].rstrip("/")
        return page_config

    return hook
