"""Sharing's rules without a hub: paths, copy names, who sees what in which role, links, the sanitised
rendering, the diff, and versions stored in a real object store (SeaweedFS) as well as on disk."""

import re
import secrets
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.test import Client
from django.utils import timezone

from sharing import blobs, services
from sharing.models import Grant, NotebookVersion, SharedNotebook
from sharing.render import NotANotebook, notebook_diff, notebook_parse, notebook_render
from sharing.selectors import notebook_get_for, notebook_list_shared_with, notebook_role
from tests.buckets.conftest import s3, seaweed  # noqa: F401  (the buckets tests' real object store)
from tests.conftest import api_as, make_user
from tests.sharing.helpers import html_output, notebook_bytes


@pytest.mark.parametrize("path, cleaned", [
    ("work/churn.ipynb", "work/churn.ipynb"), ("  a.ipynb ", "a.ipynb"), ("a/./b.ipynb", "a/b.ipynb"),
])
def test_paths_inside_the_home_are_kept(path, cleaned):
    assert services.path_clean(path) == cleaned


@pytest.mark.parametrize("path, words", [
    ("", "name the notebook"), ("../x.ipynb", "inside"), ("a/../../x.ipynb", "inside"), ("/etc/x.ipynb", "inside"),
    ("~/x.ipynb", "inside"), ("a\\b.ipynb", "usable"), ("a\x00.ipynb", "usable"), ("notes.txt", "only notebooks"),
    ("x" * 600 + ".ipynb", "usable"),
])
def test_other_paths_are_refused_naming_the_field(path, words):
    with pytest.raises(ValidationError) as error:
        services.path_clean(path)
    assert words in error.value.message_dict["path"][0].lower()


def test_copies_never_take_a_name_that_is_taken():
    taken = {"churn.ipynb", "churn (copy 1).ipynb"}
    assert services.copy_name("work/churn.ipynb", taken.__contains__) == "churn (copy 2).ipynb"
    assert services.copy_name("work/new.ipynb", taken.__contains__) == "new.ipynb"
    with pytest.raises(ValidationError):
        services.copy_name("a.ipynb", lambda name: True)


def published(owner, path="a.ipynb", raw=None):
    raw = raw or notebook_bytes("x = 1")
    html = notebook_render(notebook_parse(raw))
    blobs.blob_put(blobs.notebook_key(blobs.digest(raw)), raw)
    blobs.blob_put(blobs.html_key(blobs.digest(html)), html)
    notebook = SharedNotebook.objects.create(owner=owner, path=path, title=path)
    NotebookVersion.objects.create(notebook=notebook, number=1, sha256=blobs.digest(raw), html_sha256=blobs.digest(html),
                                   size=len(raw), author=owner, author_username=owner.username)
    return notebook


def test_roles_come_from_people_teams_and_everyone(alice, bob, carol, team):
    notebook = published(alice)
    assert [notebook_role(user=user, notebook=notebook) for user in (alice, bob, carol)] == ["owner", "", ""]
    Grant.objects.create(notebook=notebook, team=team, role="view")
    Grant.objects.create(notebook=notebook, user=bob, role="copy")
    assert notebook_role(user=bob, notebook=notebook) == "copy"  # the best of his grants
    with pytest.raises(Http404):
        notebook_get_for(user=carol, pk=notebook.pk)
    with pytest.raises(Http404):  # owner-only routes look absent to viewers
        notebook_get_for(user=bob, pk=notebook.pk, at_least="owner")
    services.notebook_update(actor=alice, notebook=notebook, everyone_role="view")
    assert notebook_role(user=carol, notebook=notebook) == "view"
    assert list(notebook_list_shared_with(user=carol)) == [notebook]
    assert list(notebook_list_shared_with(user=alice)) == []


def test_recipients_outside_ones_teams_are_refused_unless_the_platform_allows(alice, carol, other_team, settings):
    notebook = published(alice)
    for arguments, field in [({"username": "carol"}, "username"), ({"username": "ghost"}, "username"),
                             ({"team": "research"}, "team"), ({"team": "no-such-team"}, "team"),
                             ({"username": "alice"}, "username"), ({}, "username")]:
        with pytest.raises(ValidationError) as error:
            services.grant_add(actor=alice, notebook=notebook, **arguments)
        assert field in error.value.message_dict, arguments
    # An unknown team and another team read the same: which teams exist does not leak.
    answers = {str(exc) for exc in _errors(lambda team: services.grant_add(actor=alice, notebook=notebook, team=team),
                                           ["research", "no-such-team"])}
    assert len({answer.replace("research", "X").replace("no-such-team", "X") for answer in answers}) == 1
    settings.PLATFORM_SHARING_BEYOND_TEAMS = True
    assert services.grant_add(actor=alice, notebook=notebook, team="research").team == other_team


def _errors(call, values):
    for value in values:
        with pytest.raises(ValidationError) as error:
            call(value)
        yield error.value


def test_links_open_until_revoked_or_expired(alice):
    notebook = published(alice)
    link, token = services.link_create(actor=alice, notebook=notebook, expires_in_days=1)
    assert len(token) >= 43 and link.token_sha256 != token  # 256 bits; only the hash is kept
    assert services.link_resolve(token) == notebook
    with pytest.raises(services.LinkGone, match="expired"):
        services.link_resolve(token, now=timezone.now() + timedelta(days=2))
    services.link_revoke(actor=alice, link=link)
    with pytest.raises(services.LinkGone, match="revoked"):
        services.link_resolve(token)
    with pytest.raises(Http404):
        services.link_resolve(secrets.token_urlsafe(32))
    for days in (0, 366, -1, "7"):
        with pytest.raises(ValidationError):
            services.link_create(actor=alice, notebook=notebook, expires_in_days=days)


def test_the_rendering_keeps_content_and_drops_script():
    raw = notebook_bytes("print(1)", outputs={0: html_output(
        "<b>kept</b><script>alert(1)</script><img src=x onerror=alert(2)><a href='javascript:alert(3)'>x</a>")})
    html = notebook_render(notebook_parse(raw)).decode()
    assert "<b>kept</b>" in html
    # Dropped, or escaped into harmless text (bleach escapes tags it does not allow).
    for active in (r"<script>alert", r"<img[^>]*onerror", r"href=.javascript:"):
        assert not re.search(active, html), active


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b'{"cells": 3}', b"[]"])
def test_what_is_not_a_notebook_says_so(raw):
    with pytest.raises(NotANotebook):
        notebook_parse(raw)


def test_the_diff_lists_cells_added_removed_and_changed():
    old = notebook_parse(notebook_bytes("a = 1", "b = 2", "c = 3"))
    new = notebook_parse(notebook_bytes("a = 10", "c = 3", "d = 4"))
    changes = notebook_diff(old, new)
    assert {(change.kind, change.before or change.after) for change in changes} >= {("changed", "a = 1")}
    changed = next(change for change in changes if change.kind == "changed" and change.before == "a = 1")
    assert changed.lines == ["@@ -1 +1 @@", "-a = 1", "+a = 10"]


def test_the_rendered_page_is_served_sandboxed(alice):
    notebook = published(alice)
    client = Client()
    client.force_login(alice)
    page = client.get(f"/shares/{notebook.pk}/")
    assert b'sandbox=""' in page.content and page.status_code == 200
    rendered = client.get(f"/shares/{notebook.pk}/v/1/render/")
    policy = rendered["Content-Security-Policy"]
    assert policy.startswith("sandbox;") and "default-src 'none'" in policy and "script-src" not in policy
    assert rendered["X-Frame-Options"] == "SAMEORIGIN"
    again = client.get(f"/shares/{notebook.pk}/v/1/render/", HTTP_IF_NONE_MATCH=rendered["ETag"])
    assert again.status_code == 304


def test_versions_live_in_the_object_store_when_there_is_one(s3, alice):  # noqa: F811
    raw = notebook_bytes(f"token = {secrets.token_hex(8)!r}")
    notebook = published(alice, raw=raw)
    version = notebook.versions.get()
    assert blobs.storage().object_get("platform-sharing", blobs.notebook_key(version.sha256)) == raw
    assert services.version_notebook_bytes(version) == raw
    assert b"token" in services.version_html_path(version).read_bytes()  # fetched once, then served locally


def test_web_forms_answer_bad_input_with_a_message(alice, bob):
    make_user("dave")
    client = Client()
    client.force_login(alice)
    notebook = published(alice)
    for url, data in [(f"/shares/{notebook.pk}/grants/", {"username": "dave"}),
                      (f"/shares/{notebook.pk}/links/", {"expires_in_days": "999999"}),
                      (f"/shares/{notebook.pk}/everyone/", {"everyone_role": "admin"}),
                      ("/shares/publish/", {"workspace": "12", "path": "../x.ipynb"}),
                      ("/shares/live/", {"workspace": "x", "username": "bob"})]:
        answer = client.post(url, data, follow=True)
        assert answer.status_code == 200, url
        assert any(message.level_tag == "error" for message in answer.context["messages"]), url
    assert api_as(alice).post("/api/v1/shares/notebooks/", {"workspace": 10**30, "path": "a.ipynb"},
                              format="json").status_code == 400


def test_removing_what_is_not_there_or_not_yours_is_a_404(alice, bob):
    mine = SharedNotebook.objects.create(owner=alice, path="a.ipynb", title="a")
    theirs = SharedNotebook.objects.create(owner=bob, path="b.ipynb", title="b")
    grant = services.grant_add(actor=bob, notebook=theirs, username="alice")
    link, _ = services.link_create(actor=bob, notebook=theirs)
    client = Client()
    client.force_login(alice)
    for path in (f"/shares/{mine.pk}/grants/{grant.pk}/remove/", f"/shares/{mine.pk}/links/{link.pk}/revoke/",
                 f"/shares/{mine.pk}/snapshots/999999/retry/", f"/shares/{theirs.pk}/grants/{grant.pk}/remove/",
                 f"/shares/{theirs.pk}/links/{link.pk}/revoke/"):
        assert client.post(path).status_code == 404, path
    link.refresh_from_db()
    assert link.revoked is None and theirs.grants.filter(pk=grant.pk).exists()


@pytest.mark.parametrize("given, cleaned", [
    (["data/sales.csv", " helpers.py ", "data/./sales.csv", ""], ["data/sales.csv", "helpers.py"]),
    ("data/sales.csv\r\nhelpers.py\n\n", ["data/sales.csv", "helpers.py"]),  # the publish form's text box
    (None, []),
])
def test_attachments_are_paths_below_the_notebooks_folder(given, cleaned):
    assert services.attachments_clean("work/churn.ipynb", given) == cleaned


@pytest.mark.parametrize("given, words", [
    (["../secrets.txt"], "notebook's folder"), (["/etc/passwd"], "notebook's folder"), (["~/x"], "notebook's folder"),
    (["a/../../x"], "notebook's folder"), (["churn.ipynb"], "the notebook itself"), (["a\x00b"], "usable"),
    ([f"f{number}.csv" for number in range(21)], "at most 20"),
])
def test_other_attachments_are_refused_naming_the_field(given, words):
    with pytest.raises(ValidationError) as error:
        services.attachments_clean("work/churn.ipynb", given)
    assert words in error.value.message_dict["attachments"][0].lower()


def test_a_copy_with_files_goes_into_a_free_folder_with_them_at_their_places():
    taken = {"churn", "churn.ipynb"}.__contains__
    name, folders, files = services._copy_plan("work/churn.ipynb", b"nb", {"data/in/a.csv": b"1", "h.py": b"2"}, taken)
    assert name == "churn (copy 1)/churn.ipynb"
    assert folders == ["churn (copy 1)", "churn (copy 1)/data", "churn (copy 1)/data/in"]
    assert files == {name: b"nb", "churn (copy 1)/data/in/a.csv": b"1", "churn (copy 1)/h.py": b"2"}
    assert services._copy_plan("work/churn.ipynb", b"nb", {}, taken) == ("churn (copy 1).ipynb", [], {"churn (copy 1).ipynb": b"nb"})


def test_attached_files_download_for_viewers_only_and_never_render(alice, bob, carol):
    from sharing.models import VersionFile

    notebook = published(alice)
    payload = b"<script>parent.pwned = 1</script>"
    blobs.blob_put(blobs.file_key(blobs.digest(payload)), payload)
    VersionFile.objects.create(version=notebook.versions.get(), path="data/x.html", sha256=blobs.digest(payload),
                               size=len(payload))
    services.grant_add(actor=alice, notebook=notebook, username="bob")
    _, token = services.link_create(actor=alice, notebook=notebook)
    bob_web, carol_web = Client(), Client()
    bob_web.force_login(bob)
    carol_web.force_login(carol)
    for client, url in [(bob_web, f"/shares/{notebook.pk}/v/1/files/data/x.html"),
                        (Client(), f"/shares/s/{token}/files/data/x.html"),
                        (api_as(bob), f"/api/v1/shares/notebooks/{notebook.pk}/versions/1/files/data/x.html")]:
        answer = client.get(url)
        assert answer.status_code == 200 and answer.content == payload, url
        assert answer["Content-Type"] == "application/octet-stream" and answer["X-Content-Type-Options"] == "nosniff"
        assert answer["Content-Disposition"] == 'attachment; filename="x.html"'
        assert answer["Content-Security-Policy"].startswith("sandbox;")
    assert b'data-file="data/x.html"' in bob_web.get(f"/shares/{notebook.pk}/").content
    versions = api_as(bob).get(f"/api/v1/shares/notebooks/{notebook.pk}/versions/").json()["results"]
    assert versions[0]["files"] == [{"path": "data/x.html", "size": len(payload), "sha256": blobs.digest(payload)}]
    for url in [f"/shares/{notebook.pk}/v/1/files/data/x.html", f"/shares/{notebook.pk}/v/1/files/data/other"]:
        assert carol_web.get(url).status_code == 404
    assert bob_web.get(f"/shares/{notebook.pk}/v/1/files/data/other").status_code == 404
    assert api_as(carol).get(f"/api/v1/shares/notebooks/{notebook.pk}/versions/1/files/data/x.html").status_code == 404


class _Workspace:
    """What a snapshot reads from the contents API, when a file changed after the publish request."""

    def __init__(self, models):
        self.models = models

    def server_contents_model(self, url, path, *, token, binary=False, **_):
        return self.models.get(path)


@pytest.mark.parametrize("models, words", [
    ({}, "is gone"), ({"work/a.csv": {"type": "directory"}}, "is gone"),
    ({"work/a.csv": {"type": "file", "content": "%%%"}}, "garbled"),
    ({"work/a.csv": {"type": "file", "content": "eHh4\n" * 300}}, "take more now"),
])
def test_an_attachment_that_changed_since_the_request_fails_the_snapshot_with_why(models, words, settings):
    settings.PLATFORM_SHARING_ATTACHMENTS_MAX_BYTES = 600
    with pytest.raises(ValidationError) as error:
        services._attachments_read(_Workspace(models), "url", "token", "work/nb.ipynb", ["a.csv"])
    assert words in error.value.message_dict["attachments"][0]


def test_attachments_are_read_as_bytes():
    read = services._attachments_read(_Workspace({"work/a.csv": {"type": "file", "content": "eHh4\neXl5\n"}}),
                                      "url", "token", "work/nb.ipynb", ["a.csv"])
    assert read == [{"path": "a.csv", "sha256": blobs.digest(b"xxxyyy"), "size": 6, "data": b"xxxyyy"}]


def test_the_rendered_page_costs_one_query_beyond_the_session_and_still_hides_what_others_may_not_see(
        alice, bob, carol, django_assert_num_queries):
    notebook = published(alice)
    client = Client()
    client.force_login(alice)
    with django_assert_num_queries(3):  # the session, the user, the version with its notebook
        assert client.get(f"/shares/{notebook.pk}/v/1/render/").status_code == 200
    Grant.objects.create(notebook=notebook, user=bob, role="view")
    client.force_login(bob)
    assert client.get(f"/shares/{notebook.pk}/v/1/render/").status_code == 200
    assert client.get(f"/shares/{notebook.pk}/v/2/render/").status_code == 404
    client.force_login(carol)  # another team's: the same 404 for the version, a missing one, and no notebook at all
    for path in (f"{notebook.pk}/v/1", f"{notebook.pk}/v/2", f"{notebook.pk + 999}/v/1"):
        assert client.get(f"/shares/{path}/render/").status_code == 404


@pytest.mark.parametrize("directory", ["../etc", "~/x", "a/../../b", "a\\b", "a\x00b", "line\nbreak"])
def test_the_file_picker_stays_inside_the_home(alice, directory):
    """The same rule as an image build's folder (workspaces/server_files.home_relative_folder), checked before any
    workspace or hub is asked."""
    with pytest.raises(ValidationError) as refused:
        services.workspace_files(actor=alice, workspace_id=12, directory=directory)
    assert "inside the workspace's home" in refused.value.message_dict["path"][0]
