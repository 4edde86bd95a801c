"""The page-config hook that points JupyterLab at the portal's copy of its extensions (workspaces/lab_static.py).

Loaded by workspaces' Jupyter servers (jupyter_server_config.py, next to this file): nothing here imports Django.
"""

import json


def page_config_hook(offer):
    """A `page_config_hook` for tornado_settings. `offer` is PLATFORM_LAB_EXTENSIONS: {"url": …, "extensions":
    {name: folder}} as the portal serves them."""
    offer = json.loads(offer)
    found = {}

    def hook(handler, page_config):
        if "extensions" not in found:
            try:
                from jupyterlab_server.config import get_federated_extensions
            except ImportError:
                found["extensions"] = None
            else:
                app = handler.extensionapp
                extensions = get_federated_extensions(app.extra_labextensions_path + app.labextensions_path)
                found["extensions"] = {name: data["ext_path"] for name, data in extensions.items()}
        if found["extensions"] == offer["extensions"]:
            page_config["fullLabextensionsUrl"] = offer["url"].rstrip("/")
        return page_config

    return hook
