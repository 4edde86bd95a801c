import subprocess
import time
from dataclasses import dataclass

import pytest
import requests

from tests.conftest import free_port


@dataclass
class RunningRegistry:
    url: str
    host: str
    process: subprocess.Popen


@pytest.fixture
def registry(live_server, settings, tmp_path):
    """A real docker-registry (distribution 2.8) with token auth by the live portal and push
    notifications to its webhook."""
    from images.registry_server import registry_command, registry_config_write, registry_installed

    if not registry_installed():
        pytest.fail("docker-registry is not installed: run scripts/services.sh start as root")
    port = free_port()
    settings.PLATFORM_REGISTRY_URL = f"http://127.0.0.1:{port}"
    settings.PLATFORM_REGISTRY_HOST = f"127.0.0.1:{port}"
    config = registry_config_write(tmp_path / "registry.json", listen=f"127.0.0.1:{port}",
                                   storage_dir=tmp_path / "storage", portal_url=live_server.url)
    process = subprocess.Popen(registry_command(config), stdout=subprocess.DEVNULL, stderr=open(tmp_path / "registry.log", "w"))
    try:
        for _ in range(100):
            try:
                requests.get(f"{settings.PLATFORM_REGISTRY_URL}/v2/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail(f"the registry did not start: {(tmp_path / 'registry.log').read_text()}")
        yield RunningRegistry(settings.PLATFORM_REGISTRY_URL, settings.PLATFORM_REGISTRY_HOST, process)
    finally:
        process.terminate()
        process.wait(10)
        _purge_sync_tasks()


def _purge_sync_tasks():
    """The registry notified the portal of every push; syncs still queued would point at a registry that is
    gone (and retry for minutes in the next test's worker). Drop this test worker's queue."""
    from portal.celery import app

    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(app.conf.task_default_queue)


@pytest.fixture
def small(db):
    from workspaces.models import Profile

    return Profile.objects.create(name="Small", cpu="0.5", memory_bytes=512 * 2**20, disk_bytes=2**30)
