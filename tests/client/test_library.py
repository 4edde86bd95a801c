"""dsw_client as a library against the live portal: pagination, retries, errors, typed objects, waits."""

import logging
from datetime import datetime

import pytest
from django.core.cache import cache

from dsw_client import BadInput, Client, NotAllowed, NotFound, NotSignedIn, RateLimited, TokenRefused, WaitTimeout
from portal.ratelimit import limit_take
from tests.conftest import PASSWORD, token_for
from workspaces.models import Workspace


@pytest.fixture
def client(live_server, alice, connect):
    return connect(live_server.url, token_for(alice))


def requests_logged(caplog, path):
    return [record.getMessage() for record in caplog.records
            if record.name == "dsw_client" and record.getMessage().startswith(f"GET {path}")]


def test_lists_follow_every_page(connect, live_server, alice, team, small, caplog):
    Workspace.objects.bulk_create([Workspace(owner=alice, team=team, profile=small, name=f"ws-{index:03d}", image="local:default",
                                             desired_state="stopped", observed_state="stopped") for index in range(120)])
    caplog.set_level(logging.DEBUG, logger="dsw_client")
    listed = connect(live_server.url, token_for(alice), page_size=50).workspaces.list()
    assert sorted(workspace.name for workspace in listed) == [f"ws-{index:03d}" for index in range(120)]
    assert len({workspace.id for workspace in listed}) == 120
    pages = requests_logged(caplog, "/api/v1/workspaces/")
    assert [message.split(" ->")[0] for message in pages] == [
        f"GET /api/v1/workspaces/?page={page}&page_size=50" for page in (1, 2, 3)]


def test_a_429_is_retried_after_the_time_the_platform_asks_for(connect, live_server, alice, settings, caplog):
    token = token_for(alice)
    cache.clear()  # the creation above used a slot of the default rate
    settings.PLATFORM_LOGIN_RATE = "1/s"  # one token creation per person per second

    impatient = connect(live_server.url, token, retries=0)
    impatient.tokens.list()  # the portal's first request loads its views: not within the second below
    limit_take(scope="token-create", key=f"user:{alice.pk}")  # this second's creation is used up
    with pytest.raises(RateLimited) as refused:
        impatient.tokens.create("refused")
    assert refused.value.status == 429 and refused.value.retry_after == 1

    caplog.set_level(logging.INFO, logger="dsw_client")
    cache.clear()
    limit_take(scope="token-create", key=f"user:{alice.pk}")
    created = connect(live_server.url, token).tokens.create("after a retry")
    assert created.name == "after a retry" and created.token.startswith("dsw_")
    retries = [record.getMessage() for record in caplog.records if "retrying" in record.getMessage()]
    assert retries and retries[0] == "POST /api/v1/tokens/ answered 429: retrying in 1.0 s (retry 1 of 4)"


def test_errors_carry_the_apis_field_errors(client, connect, live_server, admin, small):
    with pytest.raises(BadInput) as bad:
        client.workspaces.create("Not A Name", size="small")
    assert bad.value.status == 400 and set(bad.value.errors) == {"name"}
    assert str(bad.value).startswith("Invalid input for 'name': Use 1–40")
    with pytest.raises(BadInput) as bad:
        connect(live_server.url, token_for(admin)).profiles.create(name="no sizes given")
    assert set(bad.value.errors) == {"cpu", "memory"}
    assert str(bad.value) == "Invalid input for 'cpu': This field is required.; 'memory': This field is required."

    with pytest.raises(NotFound):
        client.workspaces.get(10**9)
    with pytest.raises(NotFound, match="You have no workspace named 'ghost'"):
        client.workspaces.stop("ghost")
    with pytest.raises(NotAllowed, match="Only platform admins set budgets"):
        client.budgets.set("data-science", amount_decimal="10.00")


def test_typed_objects_keep_the_apis_json(client, alice, small):
    workspace = client.workspaces.create("typed", size=client.profiles.list()[0])
    assert isinstance(workspace.created, datetime) and workspace.created.tzinfo is not None
    assert workspace.status == "pending" and workspace.url is None and workspace.cull_warning is None
    assert workspace.raw["name"] == "typed" and workspace == client.workspaces.get("typed")
    me = client.me()
    assert me.username == "alice" and [(team.slug, team.role) for team in me.teams] == [("data-science", "admin")]
    assert client.teams.get("data-science").id == me.teams[0].id


def test_waiting_ends_at_the_timeout_with_the_last_state(client, small):
    # No worker runs in this test: the workspace stays pending.
    workspace = client.workspaces.create("waits", size="small")
    with pytest.raises(WaitTimeout, match="'waits' is still pending after 1 s") as waited:
        client.workspaces.wait_until_running(workspace, timeout=1, interval=0.2)
    assert waited.value.workspace.id == workspace.id


def test_login_returns_a_client_and_the_token_once(live_server, alice):
    client, created = Client.login(live_server.url, "alice", PASSWORD, token_name="notebook", scope="read")
    with client:
        assert created.scope == "read" and created.token not in repr(created) and created.token not in repr(client)
        assert client.me().username == "alice"
    with pytest.raises(TokenRefused, match="Unable to log in"):
        Client.login(live_server.url, "alice", "wrong")


def test_url_and_token_come_from_the_environment(connect, live_server, alice, monkeypatch, tmp_path):
    monkeypatch.setenv("DSW_CONFIG", str(tmp_path / "none.json"))
    monkeypatch.delenv("DSW_URL", raising=False)
    monkeypatch.delenv("DSW_TOKEN", raising=False)
    with pytest.raises(NotSignedIn, match="No platform URL"):
        connect()
    monkeypatch.setenv("DSW_URL", live_server.url)
    with pytest.raises(NotSignedIn, match=f"No token for {live_server.url}"):
        connect()
    monkeypatch.setenv("DSW_TOKEN", token_for(alice))
    assert connect().me().username == "alice"


def test_what_team_and_platform_admins_script(connect, live_server, admin, alice, bob, team, small):
    """The rest of the client's methods, once each, as an admin would run them."""
    from datetime import timedelta

    from django.utils import timezone

    from dsw_client import Conflict
    from tests.images.factories import make_image

    platform = connect(live_server.url, token_for(admin))
    research = platform.teams.create("Research Lab", slug="research-lab", description="papers")
    assert (research.slug, research.member_count) == ("research-lab", 0)
    assert platform.teams.update(research, description="more papers").description == "more papers"
    assert platform.teams.add_member("research-lab", "bob", role="admin").role == "admin"
    assert platform.teams.add_member(research, "alice").role == "member"
    assert platform.teams.set_role(research.id, "alice", "admin").role == "admin"
    assert sorted((m.username, m.role) for m in platform.teams.members(research)) == [("alice", "admin"), ("bob", "admin")]
    platform.teams.remove_member(research, "bob")
    assert platform.teams.member(research, "alice").username == "alice"
    platform.teams.delete(research)
    assert "research-lab" not in [t.slug for t in platform.teams.list()]

    sheet = platform.prices.create(cpu_core_hour_decimal="0.10", memory_gib_hour_decimal="0.05",
                                   storage_gib_month_decimal="0.73", gpu_hour_decimal={"": "1.00"}, note="first")
    assert (sheet.cpu_core_hour, sheet.gpu_hour) == (10, {"": 100})
    assert platform.prices.current().id == sheet.id and [s.id for s in platform.prices.list()] == [sheet.id]

    platform.budgets.set(team.id, amount_decimal="100.00")
    grant = platform.budgets.grant("data-science", amount_decimal="25.00", ends=timezone.now() + timedelta(days=3),
                                   reason="conference deadline")
    assert grant.amount == 2500 and [g.id for g in platform.budgets.grants(team.id)] == [grant.id]
    assert platform.budgets.get(team.id).status.limit == 12500

    large = platform.profiles.create(name="Large", cpu="2", memory="4Gi", disk="20Gi")
    assert (large.memory_bytes, large.disk_bytes) == (4 * 2**30, 20 * 2**30)
    replaced = platform.profiles.replace(large, name="Large", cpu="3", memory="6Gi")
    assert replaced.cpu == "3.00" and platform.profiles.get(large.id).memory_bytes == 6 * 2**30

    entry = make_image("teams/data-science/torch", "2026.12.01-abc1234")
    deprecated = platform.images.deprecate(entry.id, message="use the next one")
    assert (deprecated.status, deprecated.deprecation_message) == ("deprecated", "use the next one")
    assert platform.images.approve(entry.id, all_teams=False, teams=["data-science"]).teams == ["data-science"]
    assert platform.images.get(entry.id).raw["can_manage"] is True
    assert platform.images.retire(entry.id).status == "retired"

    mine = connect(live_server.url, token_for(alice))
    assert mine.update_me(first_name="Alice").first_name == "Alice"
    assert mine.images.choices(team="data-science").default == "local:default"
    created = mine.tokens.create("for a script", expires_in_days=1)
    assert mine.tokens.get(created.id).state == "active"
    workspace = mine.workspaces.create("notebook", size=small.id, team="data-science")
    with pytest.raises(Conflict):  # no automatic stop is pending
        mine.workspaces.keep_running(workspace)
    assert mine.workspaces.restart("notebook").status in ("pending", "stopping")
    assert mine.workspaces.delete(workspace, delete_home=True).id == workspace.id
    assert Workspace.objects.get(pk=workspace.id).delete_home
