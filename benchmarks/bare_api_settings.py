"""The baseline of benchmarks/api.py: the platform's own settings and database, no middleware, and one bare DRF
list view (benchmarks/bare_api_urls.py), served by the same gunicorn through portal.wsgi."""

from portal.settings import *  # noqa: F401,F403  (the platform's database, apps and token model)

MIDDLEWARE = []
ROOT_URLCONF = "benchmarks.bare_api_urls"
