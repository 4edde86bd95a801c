"""A fresh embedded platform is ready to launch: `ensure_admin` gives the first admin a starter team and
sizes for the machine; nothing is made in production mode or on a platform with data (issue 15)."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from costs.models import PriceSheet
from portal.accounts.models import Membership, Team, User
from portal.audit.models import AuditEvent
from tests.conftest import PASSWORD, api_as
from workspaces.models import Profile, Workspace
from workspaces.starter import StarterSize, starter_sizes

GIB = 2**30


@pytest.mark.parametrize("cpus, memory, expected", [
    (16, 64 * GIB, [("Small", 1, 2 * GIB), ("Medium", 4, 16 * GIB), ("Large", 8, 32 * GIB)]),
    (2, 23 * GIB, [("Small", 1, 2 * GIB), ("Large", 1, 11 * GIB)]),  # a quarter (0.5 CPU) would be smaller than Small
    (4, 8 * GIB, [("Small", 1, 2 * GIB), ("Large", 2, 4 * GIB)]),  # a quarter (1 CPU, 2 GiB) would equal Small
    (2, 4 * GIB, [("Small", 1, 2 * GIB)]),  # half the machine is Small itself
    (1, 2 * GIB, [("Small", 1, 1 * GIB)]),  # Small never takes more than half the memory
    (3, 3 * GIB, [("Small", 1, 1536 * 2**20)]),  # below 2 GiB memory rounds to 256 MiB
])
def test_sizes_follow_the_machine(cpus, memory, expected):
    assert starter_sizes(cpus=cpus, memory_bytes=memory) == [StarterSize(n, Decimal(c), m) for n, c, m in expected]


def ensure_admin(monkeypatch):
    monkeypatch.setenv("PLATFORM_ADMIN_USER", "admin")
    monkeypatch.setenv("PLATFORM_ADMIN_PASSWORD", PASSWORD)
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


def test_first_start_makes_a_team_and_sizes_for_the_admin(db, monkeypatch):
    output = ensure_admin(monkeypatch)
    admin = User.objects.get(username="admin")
    team = Team.objects.get()
    assert team.starter and Membership.objects.get(team=team, user=admin).role == Membership.Role.ADMIN
    sizes = list(Profile.objects.order_by("cpu", "memory_bytes"))
    assert 1 <= len(sizes) <= 3 and all(size.starter and size.enabled and size.all_teams for size in sizes)
    assert sizes[0].name == "Small" and sizes[0].cpu == 1
    assert "Ready to launch: team 'My team' with sizes Small (1 CPU · " in output
    assert AuditEvent.objects.filter(action="profile.created", actor_username="admin").count() == len(sizes)

    # No admin step: the admin launches at once, from the API as from the form.
    response = api_as(admin).post("/api/v1/workspaces/", {"name": "first", "profile": "Small"}, format="json")
    assert response.status_code == 202, response.json()
    assert Workspace.objects.get().team == team

    # A second run (every `make run`) adds nothing.
    assert "Ready to launch" not in ensure_admin(monkeypatch)
    assert (Team.objects.count(), Profile.objects.count()) == (1, len(sizes))


def test_production_mode_makes_nothing(db, monkeypatch, settings):
    settings.PRODUCTION = True
    output = ensure_admin(monkeypatch)
    assert User.objects.filter(username="admin").exists() and "Ready to launch" not in output
    assert not Team.objects.exists() and not Profile.objects.exists()


@pytest.mark.parametrize("existing", ["team", "profile", "user"])
def test_a_platform_with_data_gets_nothing(db, monkeypatch, existing):
    {"team": lambda: Team.objects.create(name="Research", slug="research"),
     "profile": lambda: Profile.objects.create(name="Tiny", cpu="0.5", memory_bytes=GIB),
     "user": lambda: User.objects.create_user(username="carol")}[existing]()
    assert "Ready to launch" not in ensure_admin(monkeypatch)
    assert Team.objects.filter(starter=True).count() == 0 and Profile.objects.filter(starter=True).count() == 0


def test_the_first_sign_in_lands_on_what_to_do_next(client, db, monkeypatch):
    ensure_admin(monkeypatch)
    assert client.login(username="admin", password=PASSWORD)
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/welcome/"
    steps = {step.key: step.done for step in response.context["steps"]}
    assert steps == {"launch": False, "people": False, "prices": False, "budget": False, "images": False}
    page = response.content.decode()
    assert "Invite people" in page and "Set prices" in page and "Add images" in page and "budget" in page

    # The steps follow the platform's state, whoever changed it and where.
    PriceSheet.objects.create(effective_from="2026-01-01T00:00Z", currency="EUR", cpu_core_hour=10, memory_gib_hour=5,
                              storage_gib_month=73)
    User.objects.create_user(username="bob")
    steps = {step.key: step.done for step in client.get("/welcome/").context["steps"]}
    assert steps["prices"] and steps["people"] and not steps["launch"]

    client.logout()
    assert client.login(username="admin", password=PASSWORD)  # the second sign-in goes where people work
    assert client.get("/").url == "/workspaces/"
    assert client.get("/welcome/").status_code == 200  # still there, under Admin → Getting started


def test_members_never_see_the_admin_page(client, bob):
    client.force_login(bob)
    assert client.get("/").url == "/workspaces/"
    assert client.get("/welcome/").status_code == 302


def test_starter_sizes_can_be_edited_and_removed(client, db, monkeypatch):
    ensure_admin(monkeypatch)
    admin = User.objects.get(username="admin")
    client.force_login(admin)
    small = Profile.objects.get(name="Small")
    assert "starter" in client.get("/manage/profiles/").content.decode()
    edit = client.get(f"/manage/profiles/{small.pk}/").content.decode()
    assert 'value="Small"' in edit and 'value="2Gi"' in edit  # sizes shown as they can be saved back
    response = client.post(f"/manage/profiles/{small.pk}/", {
        "name": "Small", "cpu": "1", "memory": "3Gi", "gpus": 0, "disk": "10Gi", "hourly_price_hint": "0.25",
        "enabled": "on", "all_teams": "on"}, follow=True)
    assert b"was saved" in response.content
    small.refresh_from_db()
    assert (small.memory_bytes, small.hourly_price_hint, small.starter) == (3 * GIB, 25, True)

    Workspace.objects.create(owner=admin, team=Team.objects.get(), profile=small, name="used", image="local:default")
    refused = client.post(f"/manage/profiles/{small.pk}/", {"action": "delete"}, follow=True)
    assert b"disable it instead" in refused.content and Profile.objects.filter(pk=small.pk).exists()
    unused = Profile.objects.create(name="Spare", cpu="2", memory_bytes=4 * GIB, starter=True)  # as on a bigger machine
    client.post(f"/manage/profiles/{unused.pk}/", {"action": "delete"})
    assert not Profile.objects.filter(pk=unused.pk).exists()
    assert AuditEvent.objects.filter(action="profile.deleted").count() == 1
