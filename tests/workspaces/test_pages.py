"""Workspace and profile pages through Django's test client (the browser test covers the live flow)."""

import re

from workspaces.models import Profile, Workspace


def test_launch_form_creates_and_redirects(client, alice, team, small):
    client.force_login(alice)
    page = client.get("/workspaces/")
    assert b"Small" in page.content and b"0.5 CPU" in page.content
    assert b"Who pays for it." not in page.content  # one team: the choice is hidden, label and help too
    response = client.post("/workspaces/", {"name": "from-ui", "profile": small.id})
    workspace = Workspace.objects.get(name="from-ui")
    assert response.status_code == 302 and response.url == f"/workspaces/{workspace.id}/"
    detail = client.get(response.url)
    assert b"Start-up progress" in detail.content and b"created" in detail.content


def test_launch_form_asks_the_progress_page_to_open_the_lab(client, alice, team, small):
    client.force_login(alice)
    assert re.search(rb'<input type="checkbox" name="open_lab"[^>]* checked', client.get("/workspaces/").content)
    response = client.post("/workspaces/", {"name": "open-me", "profile": small.id, "open_lab": "on"})
    workspace = Workspace.objects.get(name="open-me")
    assert response.url == f"/workspaces/{workspace.id}/?open=lab"
    assert b"data-open-lab-when-ready" in client.get(response.url).content
    assert b"data-open-lab-when-ready" not in client.get(f"/workspaces/{workspace.id}/").content
    Workspace.objects.filter(pk=workspace.pk).update(desired_state="stopped", observed_state="stopped")
    assert client.post(f"/workspaces/{workspace.id}/start/", {"open_lab": "on"}).url == f"/workspaces/{workspace.id}/?open=lab"
    assert client.post(f"/workspaces/{workspace.id}/stop/").url == f"/workspaces/{workspace.id}/"


def test_launch_form_errors_are_shown(client, alice, team, small):
    client.force_login(alice)
    response = client.post("/workspaces/", {"name": "Not Valid", "profile": small.id})
    assert response.status_code == 200 and b"lower-case letters" in response.content


def test_no_profile_explains_what_to_do(client, alice, team):
    client.force_login(alice)
    assert b"Ask a platform admin to create a profile" in client.get("/workspaces/").content


def test_other_users_workspace_pages_are_404(client, alice, bob, team, small):
    workspace = Workspace.objects.create(owner=alice, team=team, name="private", profile=small, image="local:default")
    client.force_login(bob)
    assert client.get(f"/workspaces/{workspace.id}/").status_code == 404
    for action in ("start", "stop", "restart", "delete"):
        assert client.post(f"/workspaces/{workspace.id}/{action}/").status_code == 404
    assert client.get(f"/user/alice/{workspace.server_name}/lab").status_code == 404


def test_stopped_server_url_points_to_the_workspace(client, alice, team, small):
    workspace = Workspace.objects.create(owner=alice, team=team, name="asleep", profile=small, image="local:default",
                                         desired_state="stopped", observed_state="stopped")
    client.force_login(alice)
    response = client.get(f"/user/alice/{workspace.server_name}/lab/tree/notebook.ipynb", follow=True)
    assert response.redirect_chain[-1][0] == f"/workspaces/{workspace.id}/"
    assert b"is not running" in response.content


def test_stop_and_delete_from_the_page(client, alice, team, small):
    workspace = Workspace.objects.create(owner=alice, team=team, name="done", profile=small, image="local:default")
    client.force_login(alice)
    assert b"Stopping done" in client.post(f"/workspaces/{workspace.id}/stop/", follow=True).content
    response = client.post(f"/workspaces/{workspace.id}/delete/", follow=True)
    assert b"its home is kept" in response.content
    assert Workspace.objects.get(pk=workspace.pk).desired_state == "deleted"
    assert Workspace.objects.get(pk=workspace.pk).delete_home is False


def test_delete_with_its_home_from_the_page(client, alice, bob, team, small):
    workspace = Workspace.objects.create(owner=alice, team=team, name="scratch", profile=small, image="local:default")
    client.force_login(bob)
    assert client.post(f"/workspaces/{workspace.id}/delete/", {"delete_home": "on"}).status_code == 404
    client.force_login(alice)
    page = client.get(f"/workspaces/{workspace.id}/").content.decode()
    assert 'name="delete_home"' in page and "data-confirm" in page
    response = client.post(f"/workspaces/{workspace.id}/delete/", {"delete_home": "on"}, follow=True)
    assert b"with its home" in response.content
    assert Workspace.objects.get(pk=workspace.pk).delete_home is True


def test_admin_creates_a_profile_in_the_ui(client, admin, alice):
    client.force_login(alice)
    assert client.get("/manage/profiles/").status_code == 302
    client.force_login(admin)
    response = client.post("/manage/profiles/", {"name": "Large", "cpu": "8", "memory": "32Gi", "gpus": 0, "disk": "100Gi",
                                                 "idle_timeout_minutes": 120, "hourly_price_hint": 250, "enabled": "on",
                                                 "all_teams": "on"}, follow=True)
    assert b"Profile Large was created" in response.content
    assert Profile.objects.get(name="Large").memory_bytes == 32 * 2**30
    response = client.post("/manage/profiles/", {"name": "Bad", "cpu": "1", "memory": "lots", "gpus": 0, "disk": "1G",
                                                 "idle_timeout_minutes": 0, "hourly_price_hint": 0})
    assert b"is not a size" in response.content
