"""Shared fixtures: personas, API clients, and the real services tests talk to.

Personas: alice (team admin of Data Science) and bob (member of Data Science);
carol is outside that team (admin of Research); admin is a platform admin.
"""

import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.mounts import remove_tree_and_mounts  # noqa: F401  (re-exported: tests import it from here)
from tests.ports import free_ports  # noqa: F401  (re-exported: tests import it from here)

from portal.accounts import services
from portal.accounts.models import Membership, Team, User

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
PASSWORD = "correct horse battery staple"

_system_getaddrinfo = socket.getaddrinfo


def _localhost_names_are_loopback(host, *args, **kwargs):
    """Browsers send every `*.localhost` name to this machine (RFC 6761), so workspaces on per-user
    subdomains (alice.localhost) just work there; this machine's resolver does not. The tests' HTTP
    clients resolve the way a browser does."""
    if isinstance(host, str) and host.lower().endswith(".localhost"):
        host = "127.0.0.1"
    return _system_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _localhost_names_are_loopback


def _flush_with_retries(flush):
    """Tests with a live hub end while the hub may still be telling the portal a server stopped (a POST
    that updates the workspace and adds an event): the TRUNCATE of the teardown's flush and that
    write can deadlock, PostgreSQL aborts one of them, and when it is the flush the next test starts
    on the last one's rows. The flush is tried again, as a client of a real database should."""
    import time

    from django.core.management.base import CommandError
    from django.db import OperationalError

    def flush_again_after_a_deadlock(self):
        for attempt in range(5):
            try:
                return flush(self)
            except CommandError as exc:
                if attempt == 4 or not isinstance(exc.__cause__, OperationalError):
                    raise
                time.sleep(0.5 * (attempt + 1))

    return flush_again_after_a_deadlock


from django.test.testcases import TransactionTestCase  # noqa: E402

TransactionTestCase._fixture_teardown = _flush_with_retries(TransactionTestCase._fixture_teardown)


@pytest.fixture(autouse=True)
def _fast_hashing_and_private_cache(settings):
    # Argon2 is the production hasher (tested in test_settings); MD5 keeps fixtures fast.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": os.urandom(8).hex()}}
    # No object store unless a test starts one (tests/buckets): people and teams made by other tests
    # then queue no bucket work.
    settings.PLATFORM_S3_ENDPOINT_URL = ""
    # No tracking server unless a test starts one (tests/tracking).
    settings.PLATFORM_TRACKING_URL = ""


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, testrun_uid):
    """Test databases named for this run as well as for the xdist worker (test_platform_gw0_<run>): two runs
    of the suite on one PostgreSQL (two checkouts, or a run beside a helper's) never drop each other's."""
    from django.conf import settings

    for database in settings.DATABASES.values():
        if database["ENGINE"].endswith("sqlite3"):
            continue  # in memory, private to the process already
        test = database.setdefault("TEST", {})
        test["NAME"] = f"{test.get('NAME') or 'test_' + database['NAME']}_{testrun_uid[:8]}"


@pytest.fixture(scope="session", autouse=True)
def _private_celery_queue(worker_id, testrun_uid):
    """Each xdist worker of each run gets its own queue so its Celery worker never runs another's tasks."""
    from portal.celery import app

    app.conf.task_default_queue = f"tests-{worker_id}-{testrun_uid[:8]}"


def make_user(username, *, team=None, role=Membership.Role.MEMBER, **extra):
    user = User.objects.create_user(username=username, email=f"{username}@example.org", password=PASSWORD, **extra)
    if team is not None:
        Membership.objects.create(team=team, user=user, role=role)
    return user


@pytest.fixture
def team(db):
    return Team.objects.create(name="Data Science", slug="data-science")


@pytest.fixture
def other_team(db):
    return Team.objects.create(name="Research", slug="research")


@pytest.fixture
def alice(team):
    return make_user("alice", team=team, role=Membership.Role.ADMIN)


@pytest.fixture
def bob(team):
    return make_user("bob", team=team)


@pytest.fixture
def carol(other_team):
    return make_user("carol", team=other_team, role=Membership.Role.ADMIN)


@pytest.fixture
def admin(db):
    return make_user("admin", is_staff=True)


def token_for(user, days=None):
    return services.token_create(user=user, name="test", days=days)[1]


def api_as(user=None, *, token=None):
    """An API client authenticated the way scripts are: a Bearer token."""
    client = APIClient()
    if user is not None and token is None:
        token = token_for(user)
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker (solo pool, in a thread) consuming this test worker's Redis queue."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun
    from django.db import connection

    from portal.celery import app

    def close_db(**kwargs):
        connection.close()

    task_postrun.connect(close_db, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=15) as worker:
            yield worker
    finally:
        task_postrun.disconnect(close_db)


def free_port():
    return free_ports(1)[0]


def docs_screenshot(target, name):
    """With DOCS_SCREENSHOTS=docs/images, browser tests write the docs' screenshots as they go:
    ``target`` is a page (the whole page) or a locator (that element)."""
    folder = os.environ.get("DOCS_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{name}.png")
        target.screenshot(path=path, full_page=True) if hasattr(target, "goto") else target.screenshot(path=path)


class SmtpSink:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages = []
        self.received = threading.Event()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        import email

        self.messages.append(email.message_from_bytes(envelope.content))
        self.received.set()
        return "250 OK"

    def wait(self, count=1, timeout=20):
        import time

        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            self.received.wait(0.1)
        return self.messages


@pytest.fixture
def smtp_sink(settings):
    sink = SmtpSink()
    sink.controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    try:
        yield sink
    finally:
        sink.controller.stop()


@pytest.fixture(scope="session")
def hub(live_server):
    """One real JupyterHub + proxy per test worker, in front of the live portal.

    The proxy is the public origin (portal at /, hub at /hub/, servers at /user/…), as in `make run`.
    """
    from django.conf import settings

    from tests.hub import start_hub, stop_hub

    public_port, hub_port, proxy_api_port = free_ports(3)
    saved = settings.PLATFORM_PUBLIC_URL, settings.PLATFORM_HUB_API_URL, settings.PLATFORM_SPAWNER_POLL_INTERVAL
    settings.PLATFORM_PUBLIC_URL = f"http://localhost:{public_port}"  # workspaces on <name>.localhost
    settings.PLATFORM_HUB_API_URL = f"http://127.0.0.1:{hub_port}/hub/api"
    settings.PLATFORM_SPAWNER_POLL_INTERVAL = 2  # the hub looks at its servers often, so tests see deaths soon
    # Workspace homes live under the hub's data directory: every OS account must pass through it
    # (pytest's own tmp tree is private to root), without reading what else is there.
    data_dir = Path(tempfile.mkdtemp(prefix="dsw-hub-"))
    data_dir.chmod(0o711)
    running = start_hub(data_dir=data_dir, portal_url=live_server.url,
                        public_port=public_port, hub_port=hub_port, proxy_api_port=proxy_api_port)
    try:
        yield running
    finally:
        stop_hub(running)
        settings.PLATFORM_PUBLIC_URL, settings.PLATFORM_HUB_API_URL, settings.PLATFORM_SPAWNER_POLL_INTERVAL = saved
        shutil.copy(running.log_path, Path(tempfile.gettempdir()) / f"dsw-last-hub-{os.getpid()}.log")  # for post-mortems
        remove_tree_and_mounts(data_dir)
