"""Settings: typed helpers that fail loudly, *_FILE secrets, and the two modes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal import env

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("1", True), ("Yes", True), ("on", True), ("false", False), ("0", False), ("", False)],
)
def test_boolean_parses(raw, expected):
    assert env.boolean("X", environ={"X": raw}) is expected


def test_boolean_rejects_garbage_with_the_name():
    with pytest.raises(ImproperlyConfigured, match="X='maybe'"):
        env.boolean("X", environ={"X": "maybe"})


@pytest.mark.parametrize(
    ("environ", "message"),
    [({"N": "ten"}, "not an integer"), ({"N": "0"}, "below the minimum"), ({"N": "99"}, "above the maximum")],
)
def test_integer_fails_loudly(environ, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        env.integer("N", 5, minimum=1, maximum=10, environ=environ)


def test_required_string_names_the_variable():
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY"):
        env.string("DJANGO_SECRET_KEY", environ={})


def test_file_variant_is_read(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    assert env.string("PASSWORD", environ={"PASSWORD_FILE": str(secret)}) == "s3cr3t"


def test_unreadable_file_variant_fails(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        env.string("PASSWORD", environ={"PASSWORD_FILE": str(tmp_path / "missing")})


def test_choice_lists_the_options():
    with pytest.raises(ImproperlyConfigured, match="embedded, production"):
        env.choice("PLATFORM_MODE", ["embedded", "production"], "embedded", environ={"PLATFORM_MODE": "prod"})


def test_argon2_is_the_default_hasher():
    from portal import settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def _manage(args, extra_env, tmp_path):
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith(("DJANGO_", "PLATFORM_", "DATABASE_URL", "REDIS_URL", "CELERY_"))}
    environ.update({"PLATFORM_DATA_DIR": str(tmp_path)}, **extra_env)
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=120)


def test_production_mode_passes_the_deploy_checks(tmp_path):
    secret_file = tmp_path / "key"
    secret_file.write_text("x7" * 30 + "-production-secret-key-of-enough-length")
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], {
        "PLATFORM_MODE": "production",
        "DJANGO_SECRET_KEY_FILE": str(secret_file),
        "DJANGO_ALLOWED_HOSTS": "workspaces.example.org",
        "DATABASE_URL": "postgres://platform:pw@db.example.org/platform",
        "REDIS_URL": "redis://redis.example.org:6379/0",
        "PLATFORM_HUB_API_TOKEN": "hub-token-" + "h" * 30,
        "PLATFORM_HUB_OAUTH_CLIENT_SECRET": "oauth-secret-" + "o" * 30,
        "PLATFORM_DATA_DIR": str(tmp_path / "data"),
    }, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    # Production writes nothing there at start (the chart's pods have a read-only root filesystem): no secret made
    # up for an unconfigured registry or object store.
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DATABASE_URL", "DJANGO_ALLOWED_HOSTS", "PLATFORM_HUB_API_TOKEN"])
def test_production_mode_requires_its_settings(tmp_path, missing):
    settings = {
        "PLATFORM_MODE": "production",
        "DJANGO_SECRET_KEY": "k" * 60,
        "DJANGO_ALLOWED_HOSTS": "workspaces.example.org",
        "DATABASE_URL": "postgres://platform:pw@db.example.org/platform",
        "REDIS_URL": "redis://redis.example.org:6379/0",
        "PLATFORM_HUB_API_TOKEN": "t" * 40,
        "PLATFORM_HUB_OAUTH_CLIENT_SECRET": "s" * 40,
    }
    del settings[missing]
    result = _manage(["check"], settings, tmp_path)
    assert result.returncode != 0
    assert missing in result.stderr


def test_embedded_mode_needs_no_environment(tmp_path):
    result = _manage(["shell", "-c", "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)"], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "sqlite3 filesystem://" in result.stdout
    key_file = tmp_path / "secret_key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_embedded_mode_shares_its_cache_through_the_database_and_migrate_makes_the_table(tmp_path):
    """Rate limits must be counted once for every process: never per-process memory."""
    assert _manage(["migrate", "--no-input", "-v", "0"], {}, tmp_path).returncode == 0
    script = ("from django.conf import settings as s; from django.core.cache import cache; "
              "print(s.CACHES['default']['BACKEND']); print(cache.add('k', 1, 60), cache.add('k', 1, 60))")
    result = _manage(["shell", "-v", "0", "-c", script], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.core.cache.backends.db.DatabaseCache", "True", "False"]
    import sqlite3

    with sqlite3.connect(tmp_path / "platform.sqlite3") as database:
        assert database.execute("SELECT count(*) FROM platform_cache").fetchone()[0] == 1


@pytest.mark.parametrize(("name", "value", "message"), [
    ("PLATFORM_LOGIN_RATE", "ten a minute", "is not a rate"),
    ("PLATFORM_TRUSTED_PROXIES", "proxy.example.org", "is not an IP address or network"),
])
def test_security_settings_fail_loudly(tmp_path, name, value, message):
    result = _manage(["check"], {name: value}, tmp_path)
    assert result.returncode != 0 and name in result.stderr and message in result.stderr
