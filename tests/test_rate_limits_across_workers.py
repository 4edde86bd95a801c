"""The documented limit ("10 per minute", PLATFORM_LOGIN_RATE's default) is what a client meets when
two gunicorn workers (4 threads each, as `make run` starts them) answer it: they share one counter,
the database cache of the embedded default or Redis."""

import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command
from django.db import connection

from portal.accounts.models import User
from tests.conftest import PASSWORD, free_port

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTED = 10  # docs/configuration.md: PLATFORM_LOGIN_RATE defaults to 10/minute


def _environment(data_dir, cache):
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith(("DJANGO_", "PLATFORM_", "DATABASE_URL", "REDIS_URL", "CELERY_"))}
    database = urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{connection.settings_dict['NAME']}").geturl()
    environ.update(DATABASE_URL=database, PLATFORM_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="portal.settings",
                   PYTHONPATH=os.pathsep.join([str(ROOT / "platform"), str(ROOT)]))
    if cache == "redis":
        environ["REDIS_URL"] = os.environ["REDIS_URL"]
    return environ


@pytest.fixture(params=["database", "redis"])
def gunicorn(request, transactional_db, settings, tmp_path):
    cache = request.param
    if cache == "redis" and not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set")
    if cache == "database":
        # The suite runs with REDIS_URL set, so `migrate` made no cache table in the test database.
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "platform_cache"}}
        call_command("createcachetable", verbosity=0)
    port = free_port()
    log = tmp_path / "access.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--threads", "4", "--access-logfile", str(log), "--access-logformat", "%(p)s %(s)s %(U)s",
         "--no-control-socket"],  # its default path is one per machine, shared with every other gunicorn
        cwd=ROOT, env=_environment(tmp_path, cache), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or a worker still importing Django
                pass
            assert time.monotonic() < deadline and process.poll() is None, "gunicorn did not start"
            time.sleep(0.2)
        yield base, log
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
        print(output[-4000:])  # shown when the test fails


def test_ten_wrong_passwords_per_minute_across_two_workers(gunicorn):
    base, log = gunicorn
    # Unique per run: the Redis store outlives the test (for the minute the slots live).
    username, address = f"erin-{uuid.uuid4().hex[:8]}", f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    # A cheap hash (the test's own hasher is MD5, which the server does not accept).
    User.objects.create(username=username, password=PBKDF2PasswordHasher().encode(PASSWORD, "salt" * 4, iterations=1000))
    headers = {"X-Forwarded-For": address}  # the server trusts loopback as its proxy

    def attempt(_):
        return requests.post(f"{base}/api/v1/auth/token/", json={"username": username, "password": "wrong guess"},
                             headers=headers, timeout=30).status_code

    statuses = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        # Bursts of 8 at once until both workers have answered some (they take connections as they
        # come, so this is usually the first burst or two).
        while len(statuses) < 3 * DOCUMENTED or len(_pids(log)) < 2:
            statuses += pool.map(attempt, range(8))
            assert len(statuses) < 400, "only one worker ever answered"
    assert statuses.count(401) == DOCUMENTED
    assert statuses.count(429) == len(statuses) - DOCUMENTED
    assert len(_pids(log)) == 2

    right = requests.post(f"{base}/api/v1/auth/token/", json={"username": username, "password": PASSWORD},
                          headers=headers, timeout=30)
    assert right.status_code == 429 and 1 <= int(right.headers["Retry-After"]) <= 60  # no yes/no oracle

    # The web login shares the counter (the same authentication backend, another worker perhaps).
    session = requests.Session()
    session.get(f"{base}/accounts/login/", timeout=30)
    page = session.post(f"{base}/accounts/login/", data={"username": username, "password": PASSWORD,
                                                         "csrfmiddlewaretoken": session.cookies["csrftoken"]},
                        headers={**headers, "Referer": f"{base}/accounts/login/"}, timeout=30)
    assert page.status_code == 429 and "Too many sign-in attempts. Try again in" in page.text

    other = requests.post(f"{base}/api/v1/auth/token/", json={"username": username, "password": PASSWORD},
                          headers={"X-Forwarded-For": "203.0.113.1"}, timeout=30)
    assert other.status_code == 429  # per username too, from anywhere


def _pids(log):
    lines = log.read_text().splitlines() if log.exists() else []
    return {line.split()[0] for line in lines if "/api/v1/auth/token/" in line}
