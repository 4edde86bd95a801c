import pytest

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from tests.conftest import PASSWORD, api_as


def test_me_shows_account_and_teams(alice, team):
    body = api_as(alice).get("/api/v1/users/me/").json()
    assert body["username"] == "alice"
    assert body["is_platform_admin"] is False
    assert body["teams"] == [{"id": team.id, "name": "Data Science", "slug": "data-science", "role": "admin"}]


def test_me_can_be_updated(bob):
    response = api_as(bob).patch("/api/v1/users/me/", {"first_name": "Bob", "email": "bob@new.example.org",
                                                       "current_password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert response.json()["first_name"] == "Bob"
    assert response.json()["email"] == "bob@new.example.org"


@pytest.mark.parametrize("password", [None, "", "wrong"])
def test_changing_the_email_address_needs_the_current_password(bob, password):
    payload = {"email": "mallory@evil.example"} | ({} if password is None else {"current_password": password})
    response = api_as(bob).patch("/api/v1/users/me/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"current_password": ["This is not your current password."]}
    bob.refresh_from_db()
    assert bob.email == "bob@example.org"


def test_me_rejects_a_bad_email(bob):
    response = api_as(bob).patch("/api/v1/users/me/", {"email": "not-an-address"}, format="json")
    assert response.status_code == 400
    assert "email" in response.json()["errors"]


def test_only_platform_admins_list_users(alice, admin):
    assert api_as(alice).get("/api/v1/users/").status_code == 403
    body = api_as(admin).get("/api/v1/users/").json()
    assert {user["username"] for user in body["results"]} == {"alice", "admin"}


def test_admin_creates_a_user_with_a_password(admin):
    response = api_as(admin).post("/api/v1/users/", {"username": "dana", "email": "dana@example.org", "password": "a-long-enough-passphrase"}, format="json")
    assert response.status_code == 201
    assert User.objects.get(username="dana").check_password("a-long-enough-passphrase")
    assert "password" not in response.json()
    assert AuditEvent.objects.filter(action="user.created", target_repr="dana", actor_username="admin").exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"username": "alice", "password": "a-long-enough-passphrase"}, "username"),
     ({"username": "bad name!", "password": "a-long-enough-passphrase"}, "username"),
     ({"username": "erin", "password": "short"}, "password"),
     ({"username": "erin"}, "email"),
     ({"username": "erin", "email": "nope"}, "email")],
)
def test_bad_user_input_names_the_field(admin, alice, payload, field):
    response = api_as(admin).post("/api/v1/users/", payload, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]


def test_non_admins_cannot_create_users(alice):
    response = api_as(alice).post("/api/v1/users/", {"username": "mallory", "password": "a-long-enough-passphrase"}, format="json")
    assert response.status_code == 403
    assert not User.objects.filter(username="mallory").exists()


def test_me_has_no_n_plus_one(alice, django_assert_max_num_queries):
    from portal.accounts.models import Membership, Team

    for index in range(5):
        Membership.objects.create(team=Team.objects.create(name=f"T{index}", slug=f"t{index}"), user=alice)
    client = api_as(alice)
    with django_assert_max_num_queries(5):
        assert len(client.get("/api/v1/users/me/").json()["teams"]) == 6
