"""Publishing from a real workspace (hub, proxy, single-user server's contents API), snapshots taken by a real
Celery worker, recipients told by a real SMTP sink: versions, audiences, secret links, diff, copies."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from portal.audit.models import AuditEvent
from sharing.models import NotebookVersion, SecretLink, SharedNotebook
from tests.conftest import api_as
from tests.kernels import run_in_kernel
from tests.sharing.helpers import cells, notebook_bytes, put_files, read_file, wait_for_copy, wait_for_snapshot
from tests.workspaces.test_hub_lifecycle import wait_for_status
from workspaces.hub import hub_client
from workspaces.models import Workspace

pytestmark = pytest.mark.hub

V1 = notebook_bytes("import math\nprint(math.sqrt(16))", "x = 1")
V2 = notebook_bytes("import math\nprint(math.sqrt(25))", "x = 1", "y = x + 1")


def launch(client, name):
    created = client.post("/api/v1/workspaces/", {"name": name, "profile": "Small"}, format="json")
    assert created.status_code == 202, created.json()
    wait_for_status(client, created.json()["id"], "running")
    return Workspace.objects.select_related("owner").get(pk=created.json()["id"])


def publish(client, workspace, path, message=""):
    answer = client.post("/api/v1/shares/notebooks/", {"workspace": workspace.pk, "path": path, "message": message},
                         format="json")
    assert answer.status_code == 202, answer.json()
    return wait_for_snapshot(answer.json()["id"])


def test_publish_versions_audiences_links_diff_and_copy(hub, celery_worker, smtp_sink, alice, bob, carol, small, settings):
    settings.PLATFORM_SHARING_MAX_BYTES = 200_000
    alice_api, bob_api, carol_api = api_as(alice), api_as(bob), api_as(carol)
    workspace = launch(alice_api, "analysis")
    put_files(workspace, {"work/churn.ipynb": V1, "notes.txt": b"not a notebook",
                          "big.ipynb": notebook_bytes("x = '" + "a" * 250_000 + "'"), "broken.ipynb": b"{not json"})

    # Bad input: a 400 naming the field, before anything is queued.
    for path, words in [("../etc/passwd.ipynb", "inside the workspace"), ("/etc/shadow.ipynb", "inside the workspace"),
                        ("missing.ipynb", "no file"), ("notes.txt", "only notebooks"), ("big.ipynb", "up to 0.2 mib"),
                        ("work", "only notebooks")]:
        answer = alice_api.post("/api/v1/shares/notebooks/", {"workspace": workspace.pk, "path": path}, format="json")
        assert answer.status_code == 400 and words in answer.json()["errors"]["path"][0].lower(), (path, answer.json())
    answer = bob_api.post("/api/v1/shares/notebooks/", {"workspace": workspace.pk, "path": "work/churn.ipynb"}, format="json")
    assert answer.status_code == 400 and "no such workspace" in answer.json()["errors"]["workspace"][0]

    # Version 1, stored as published; the picker lists it.
    files = alice_api.get(f"/api/v1/shares/workspaces/{workspace.pk}/files/", {"path": "work"}).json()
    assert [(item["name"], item["type"]) for item in files] == [("churn.ipynb", "notebook")]
    snapshot = publish(alice_api, workspace, "work/churn.ipynb", "first cut")
    assert snapshot.state == "done", snapshot.error
    notebook = snapshot.notebook
    assert alice_api.get(f"/api/v1/shares/notebooks/{notebook.pk}/download/".replace("download/", "versions/1/download/")).content == V1

    # Shared with bob (his team): an e-mail, "Shared with me", the versions, the file; carol sees nothing.
    assert bob_api.get(f"/api/v1/shares/notebooks/{notebook.pk}/").status_code == 404
    grant = alice_api.post(f"/api/v1/shares/notebooks/{notebook.pk}/grants/", {"username": "bob", "role": "view"}, format="json")
    assert grant.status_code == 201, grant.json()
    mail = smtp_sink.wait(1)[0]
    assert mail["To"] == "bob@example.org" and f"/shares/{notebook.pk}/" in mail.get_payload()
    shared = bob_api.get("/api/v1/shares/shared-with-me/").json()
    assert [item["id"] for item in shared["notebooks"]] == [notebook.pk]
    versions = bob_api.get(f"/api/v1/shares/notebooks/{notebook.pk}/versions/").json()["results"]
    assert [(v["number"], v["author"], v["message"]) for v in versions] == [(1, "alice", "first cut")]
    assert bob_api.get(f"/api/v1/shares/notebooks/{notebook.pk}/versions/1/download/").content == V1
    for path in ["", "versions/", "versions/1/download/", "diff/?base=1&remote=1", "grants/"]:
        assert carol_api.get(f"/api/v1/shares/notebooks/{notebook.pk}/{path}").status_code == 404, path
    assert bob_api.get(f"/api/v1/shares/notebooks/{notebook.pk}/grants/").status_code == 404  # the owner's business
    carol_web, bob_web = Client(), Client()
    carol_web.force_login(carol)
    bob_web.force_login(bob)
    for path in ["", "v/1/", "v/1/render/", "v/1/download/"]:
        assert carol_web.get(f"/shares/{notebook.pk}/{path}").status_code == 404, path
        assert bob_web.get(f"/shares/{notebook.pk}/{path}").status_code == 200, path
    assert "sqrt" in bob_web.get(f"/shares/{notebook.pk}/v/1/render/").getvalue().decode()

    # Published again: version 2, version 1 unchanged, and bob sees the diff.
    put_files(workspace, {"work/churn.ipynb": V2})
    assert publish(alice_api, workspace, "work/churn.ipynb", "more").version.number == 2
    assert bob_api.get(f"/api/v1/shares/notebooks/{notebook.pk}/versions/1/download/").content == V1
    diff = bob_api.get(f"/api/v1/shares/notebooks/{notebook.pk}/diff/", {"base": 1, "remote": 2}).json()
    kinds = sorted((cell["kind"], cell["index"]) for cell in diff["cells"])
    assert kinds == [("added", 2), ("changed", 0)], diff
    changed = next(cell for cell in diff["cells"] if cell["kind"] == "changed")
    assert "-print(math.sqrt(16))" in changed["lines"] and "+print(math.sqrt(25))" in changed["lines"]
    page = bob_web.get(f"/shares/{notebook.pk}/diff/").content.decode()
    assert "+print(math.sqrt(25))" in page and "y = x + 1" in page

    # A team grant reaches carol only once she is in it; revoking ends access at the next request.
    assert alice_api.post(f"/api/v1/shares/notebooks/{notebook.pk}/grants/", {"team": "research"}, format="json").status_code == 400
    alice_api.delete(f"/api/v1/shares/notebooks/{notebook.pk}/grants/{grant.json()['id']}/")
    assert bob_api.get(f"/api/v1/shares/notebooks/{notebook.pk}/versions/1/download/").status_code == 404
    assert alice_api.post(f"/api/v1/shares/notebooks/{notebook.pk}/grants/", {"team": "data-science", "role": "copy"},
                          format="json").status_code == 201
    assert bob_api.get(f"/api/v1/shares/notebooks/{notebook.pk}/").status_code == 200

    # A secret link: anyone with it views the latest version, until it is revoked or expires.
    link = alice_api.post(f"/api/v1/shares/notebooks/{notebook.pk}/links/", {"expires_in_days": 7}, format="json").json()
    path = link["url"].split("://", 1)[1].split("/", 1)[1]
    anonymous = Client()
    assert anonymous.get(f"/{path}").status_code == 200
    rendered = anonymous.get(f"/{path}render/")
    assert rendered.status_code == 200 and "sandbox" in rendered["Content-Security-Policy"]
    assert anonymous.get(f"/{path}download/").content == V2
    assert anonymous.get(f"/{path[:-5]}xxxx/").status_code == 404
    SecretLink.objects.filter(pk=link["id"]).update(expires=timezone.now() - timedelta(seconds=1))
    gone = anonymous.get(f"/{path}render/")
    assert gone.status_code == 410 and "expired" in gone.content.decode()
    other = alice_api.post(f"/api/v1/shares/notebooks/{notebook.pk}/links/", {}, format="json").json()
    other_path = "/" + other["url"].split("://", 1)[1].split("/", 1)[1]
    assert anonymous.get(other_path).status_code == 200
    assert alice_api.delete(f"/api/v1/shares/notebooks/{notebook.pk}/links/{other['id']}/").status_code == 204
    assert anonymous.get(other_path).status_code == 410 and "revoked" in anonymous.get(other_path).content.decode()

    # Bob (role copy) opens a copy in his own workspace, twice: the second gets a new name, nothing is overwritten.
    bob_workspace = launch(bob_api, "mine")
    put_files(bob_workspace, {"churn.ipynb": b'{"mine": true}'})
    names = []
    for _ in range(2):
        copy = bob_api.post(f"/api/v1/shares/notebooks/{notebook.pk}/copies/", {"workspace": bob_workspace.pk}, format="json")
        assert copy.status_code == 202, copy.json()
        done = wait_for_copy(copy.json()["id"])
        assert done.state == "done", done.error
        names.append(done.path)
    assert names == ["churn (copy 1).ipynb", "churn (copy 2).ipynb"]
    assert read_file(bob_workspace, "churn.ipynb") == '{"mine": true}'
    assert cells(read_file(bob_workspace, names[0]).encode()) == cells(V2)
    # ... and runs its code in his workspace's kernel.
    hub = hub_client()
    state = hub.server_state("bob", bob_workspace.server_name)
    token_id, token = hub.server_token("bob", bob_workspace.server_name, note="test")
    code = ("import json\nnb = json.load(open('churn (copy 1).ipynb'))\n"
            "exec('\\n'.join(''.join(c['source']) for c in nb['cells']))\nprint('y', y)")
    outcome, out = run_in_kernel(f"{hub.servers_url}{state.url.rstrip('/')}" if state.url.startswith("/") else state.url.rstrip("/"),
                                 token, code)
    hub.token_revoke("bob", token_id)
    assert outcome == "ok" and "5.0" in out and "y 2" in out, out
    # carol (no role at all) cannot copy, and a viewer cannot either.
    assert carol_api.post(f"/api/v1/shares/notebooks/{notebook.pk}/copies/", {"workspace": bob_workspace.pk},
                          format="json").status_code == 404

    # A failed snapshot leaves no version, and a retry after the fix makes version 1.
    failed = publish(alice_api, workspace, "broken.ipynb")
    assert failed.state == "failed" and "not a notebook" in failed.error
    assert not NotebookVersion.objects.filter(notebook=failed.notebook).exists()
    put_files(workspace, {"broken.ipynb": V1})
    retried = alice_api.post(f"/api/v1/shares/snapshots/{failed.pk}/retry/")
    assert retried.status_code == 202
    assert wait_for_snapshot(failed.pk).version.number == 1

    actions = set(AuditEvent.objects.filter(action__startswith="sharing.").values_list("action", flat=True))
    assert {"sharing.publish", "sharing.version", "sharing.grant", "sharing.grant_revoke", "sharing.link_create",
            "sharing.link_revoke", "sharing.copy", "sharing.retry"} <= actions
    assert SharedNotebook.objects.filter(owner=alice).count() == 2
    for client, ws in ((alice_api, workspace), (bob_api, bob_workspace)):
        client.delete(f"/api/v1/workspaces/{ws.pk}/")
