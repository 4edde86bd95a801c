"""`make run`'s registry: started when installed and configured as the embedded one, otherwise a plain note."""

import json

from images.registry_server import embedded_registry_command, registry_config


def test_make_run_says_plainly_when_there_is_no_registry(settings):
    settings.PLATFORM_REGISTRY_URL = ""
    command, note = embedded_registry_command(registry_port=8005, portal_internal_url="http://127.0.0.1:8003")
    assert command is None and "local environments only" in note

    settings.PLATFORM_REGISTRY_URL = "https://registry.example.org"
    command, note = embedded_registry_command(registry_port=8005, portal_internal_url="http://127.0.0.1:8003")
    assert command is None and "external" in note


def test_the_embedded_registry_trusts_the_portal_and_notifies_it(settings, tmp_path):
    settings.PLATFORM_REGISTRY_URL = "http://127.0.0.1:8005"
    settings.PLATFORM_DATA_DIR = tmp_path
    command, note = embedded_registry_command(registry_port=8005, portal_internal_url="http://127.0.0.1:8003")
    assert command[-2:] == ["serve", str(tmp_path / "registry" / "config.json")] and "Image registry" in note
    config = json.loads((tmp_path / "registry" / "config.json").read_text())
    assert (tmp_path / "registry" / "config.json").stat().st_mode & 0o077 == 0  # it holds the webhook token
    assert config["auth"]["token"]["service"] == settings.PLATFORM_REGISTRY_SERVICE
    assert config["notifications"]["endpoints"][0]["url"] == "http://127.0.0.1:8003/api/v1/images/registry/events/"
    assert config["notifications"]["endpoints"][0]["headers"]["Authorization"] == [f"Bearer {settings.PLATFORM_REGISTRY_WEBHOOK_TOKEN}"]
    assert settings.SECRET_KEY not in json.dumps(registry_config(listen="127.0.0.1:1", storage_dir=tmp_path, portal_url="http://x"))
