"""`dsw login`, `logout` and `whoami` as real subprocesses: the token file, the password on standard
input, rate limits, and what a wrong URL, a wrong password or an expired token say."""

import json
import stat
from datetime import timedelta

from django.utils import timezone

from portal.accounts.models import AccessToken
from tests.client.conftest import one_line_error
from tests.conftest import PASSWORD
from tests.ports import free_ports


def test_login_saves_a_private_token_that_the_next_commands_use(dsw, alice):
    result = dsw.login("alice", PASSWORD)
    assert f"Signed in to {dsw.url} as alice" in result.stdout

    assert stat.S_IMODE(dsw.config.stat().st_mode) == 0o600
    assert stat.S_IMODE(dsw.config.parent.stat().st_mode) == 0o700
    saved = json.loads(dsw.config.read_text())
    token = AccessToken.objects.get(user=alice)
    assert saved["token"].startswith(token.prefix) and saved["token_id"] == token.id and saved["url"] == dsw.url
    assert token.scope == "write" and token.name.startswith("dsw on ")

    whoami = dsw.ok("whoami", env={"DSW_URL": ""})  # the saved URL is enough
    assert whoami.stdout.startswith(f"alice <alice@example.org> at {dsw.url}")
    assert "data-science (admin)" in whoami.stdout
    assert json.loads(dsw.ok("whoami", "--json").stdout)["username"] == "alice"


def test_the_config_file_defaults_to_the_xdg_config_home(dsw, alice, tmp_path):
    dsw.env.pop("DSW_CONFIG")
    dsw.login("alice", PASSWORD, env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert stat.S_IMODE((tmp_path / "xdg" / "dsw" / "config.json").stat().st_mode) == 0o600
    dsw.env["DSW_CONFIG"] = str(tmp_path / "elsewhere.json")
    assert not (tmp_path / "elsewhere.json").exists()
    dsw.login("alice", PASSWORD)
    assert (tmp_path / "elsewhere.json").exists()


def test_a_second_login_revokes_the_token_it_replaces_and_logout_revokes_the_last(dsw, alice):
    dsw.login("alice", PASSWORD)
    first = json.loads(dsw.config.read_text())["token_id"]
    assert "revoked" in dsw.login("alice", PASSWORD).stdout
    second = json.loads(dsw.config.read_text())["token_id"]
    assert AccessToken.objects.get(pk=first).revoked is not None
    assert AccessToken.objects.get(pk=second).revoked is None

    assert "revoked and forgotten" in dsw.ok("logout").stdout
    assert AccessToken.objects.get(pk=second).revoked is not None and not dsw.config.exists()
    assert one_line_error(result := dsw("ls")).startswith("dsw: No token for") and result.returncode == 3


def test_signing_in_as_someone_else_revokes_the_first_persons_token_with_itself(dsw, alice, bob):
    dsw.login("alice", PASSWORD)
    assert "The token saved before was revoked." in dsw.login("bob", PASSWORD).stdout
    assert AccessToken.objects.get(user=alice).revoked is not None
    # A read-only token cannot revoke itself, and bob's cannot revoke it either: dsw says so.
    dsw.login("alice", PASSWORD, "--read-only")
    result = dsw.login("bob", PASSWORD)
    assert "could not be revoked: revoke it in Settings → API tokens." in result.stdout
    assert AccessToken.objects.get(user=alice, scope="read").revoked is None


def test_a_read_only_login_may_read_but_not_launch(dsw, alice, small):
    dsw.login("alice", PASSWORD, "--read-only", "--days", "2")
    token = AccessToken.objects.get(user=alice)
    assert token.scope == "read" and token.expires - timezone.now() < timedelta(days=2)
    dsw.ok("ls")
    result = dsw("launch", "nope", "--size", "small")
    assert result.returncode == 5 and "read-only" in one_line_error(result)


def test_a_wrong_password_is_exit_3_in_one_line(dsw, alice):
    result = dsw("login", "--url", dsw.url, "--username", "alice", input="not the password\n")
    assert result.returncode == 3
    assert one_line_error(result) == "dsw: Unable to log in with the provided username and password."
    assert not dsw.config.exists()


def test_no_password_on_standard_input_is_bad_input(dsw, alice):
    result = dsw("login", "--url", dsw.url, "--username", "alice", input="")
    assert result.returncode == 2 and "No password on standard input" in result.stderr


def test_logins_past_the_rate_limit_say_how_long_to_wait(dsw, alice, settings):
    settings.PLATFORM_LOGIN_RATE = "2/minute"  # token creation per person
    dsw.login("alice", PASSWORD)
    dsw.login("alice", PASSWORD)
    result = dsw("login", "--url", dsw.url, "--username", "alice", input=PASSWORD + "\n")
    assert result.returncode == 6
    assert one_line_error(result).startswith("dsw: Too many attempts. Expected available in ")


def test_a_wrong_url_says_so(dsw, alice):
    [port] = free_ports(1)  # nothing listens there
    result = dsw("login", "--url", f"http://127.0.0.1:{port}", "--username", "alice", input=PASSWORD + "\n")
    assert result.returncode == 8
    assert "nothing answers there (connection refused)" in one_line_error(result)

    result = dsw("login", "--url", f"{dsw.url}/not-here", "--username", "alice", input=PASSWORD + "\n")
    assert result.returncode == 8
    assert "not like the platform's API: is the URL right?" in one_line_error(result)

    result = dsw("login", "--url", "portal.example.org", "--username", "alice", input=PASSWORD + "\n")
    assert result.returncode == 8 and "is not the platform's URL" in one_line_error(result)


def test_an_expired_token_says_it_expired_and_a_revoked_one_that_it_was_refused(dsw, alice):
    dsw.login("alice", PASSWORD)
    AccessToken.objects.filter(user=alice).update(expires=timezone.now() - timedelta(minutes=1))
    # The file says when it expires: dsw knows, although the platform only says "invalid, expired or revoked".
    saved = json.loads(dsw.config.read_text())
    saved["expires"] = (timezone.now() - timedelta(minutes=1)).isoformat()
    dsw.config.write_text(json.dumps(saved))
    result = dsw("ls")
    assert result.returncode == 3
    assert f"Your token for {dsw.url} expired on" in one_line_error(result) and "dsw login" in result.stderr

    dsw.login("alice", PASSWORD)
    AccessToken.objects.filter(user=alice).update(revoked=timezone.now())
    result = dsw("ls")
    assert result.returncode == 3
    assert f"{dsw.url} refused the token from {dsw.config} (it is invalid, expired or revoked)" in one_line_error(result)


def test_the_saved_token_is_never_sent_to_another_url(dsw, alice):
    dsw.login("alice", PASSWORD)
    [port] = free_ports(1)
    result = dsw("ls", env={"DSW_URL": f"http://127.0.0.1:{port}"})
    assert result.returncode == 3
    assert one_line_error(result).startswith(f"dsw: No token for http://127.0.0.1:{port}")
    dsw.ok("ls", env={"DSW_URL": f"{dsw.url}/"})  # the same URL, written with a trailing slash


def test_a_token_from_the_environment_wins(dsw, alice, bob):
    from tests.conftest import token_for

    dsw.login("alice", PASSWORD)
    assert dsw.ok("whoami", env={"DSW_TOKEN": token_for(bob)}).stdout.startswith("bob ")
