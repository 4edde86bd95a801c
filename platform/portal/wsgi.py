import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import Resolver404, resolve

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# What Django and the apps load (about 160,000 objects, the URL resolver's included once it has resolved a path) lives
# as long as the process; a full collection walked all of it (80 ms on the 2-core machine), a pause that made the
# API's 99th percentile (benchmarks/api.py). Moved to the permanent generation, collections walk only what requests
# make, as the fork server does for workspaces' servers (spawner/zygote.py).
try:
    resolve("/")
except Resolver404:
    pass
gc.freeze()
