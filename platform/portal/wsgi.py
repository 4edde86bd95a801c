import gc
import os
import threading

from django.core.wsgi import get_wsgi_application
from django.urls import Resolver404, resolve

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()


def _load_urls_then_freeze():
    """Load every view (the URL resolver's first use), then move what is loaded out of the collector's reach.

    What Django and the apps load (about 160,000 objects, the URL resolver's included once it has resolved a
    path) lives as long as the process; a full collection walked all of it (80 ms on the 2-core machine), a
    pause that made the API's 99th percentile (benchmarks/api.py). Moved to the permanent generation,
    collections walk only what requests make, as the fork server does for workspaces' servers
    (spawner/zygote.py). In a thread: loading the views takes 0.6 s alone and several seconds while the whole
    platform starts, and /healthz (answered by a middleware, before any URL is resolved) need not wait for it.
    """
    try:
        resolve("/")
    except Resolver404:
        pass
    gc.freeze()


threading.Thread(target=_load_urls_then_freeze, name="portal-url-warm-up", daemon=True).start()
