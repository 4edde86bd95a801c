"""Small files published with a notebook, on a real hub: checked at the request, stored with the version, and
written next to the copy in the recipient's workspace, where the notebook's relative reads work."""

import pytest

from tests.conftest import api_as
from tests.kernels import run_in_kernel
from tests.sharing.helpers import notebook_bytes, put_files, read_file, wait_for_copy, wait_for_snapshot
from tests.sharing.test_publish_share_and_copy import launch
from workspaces.hub import hub_client

pytestmark = pytest.mark.hub

NOTEBOOK = notebook_bytes("import csv, helpers\nrows = list(csv.reader(open('data/sales.csv')))",
                          "print('total', helpers.total(rows))")
SALES = b"region,amount\nnorth,3\nsouth,4\n"
HELPERS = b"def total(rows):\n    return sum(int(amount) for _, amount in rows[1:])\n"


def test_attached_files_travel_with_the_notebook_into_a_copy(hub, celery_worker, alice, bob, small, settings):
    settings.PLATFORM_SHARING_ATTACHMENTS_MAX_BYTES = 1000
    alice_api, bob_api = api_as(alice), api_as(bob)
    workspace = launch(alice_api, "report")
    put_files(workspace, {"work/churn.ipynb": NOTEBOOK, "work/data/sales.csv": SALES, "work/helpers.py": HELPERS,
                          "work/big.bin": b"x" * 2000, "secret.txt": b"not next to the notebook"})

    for attachments, words in [(["data/missing.csv"], "no file data/missing.csv"), (["data"], "is a folder"),
                               (["big.bin"], "0.0 mib together"), (["../secret.txt"], "notebook's folder")]:
        answer = alice_api.post("/api/v1/shares/notebooks/", {"workspace": workspace.pk, "path": "work/churn.ipynb",
                                                              "attachments": attachments}, format="json")
        assert answer.status_code == 400 and words in answer.json()["errors"]["attachments"][0].lower(), answer.json()

    answer = alice_api.post("/api/v1/shares/notebooks/", {"workspace": workspace.pk, "path": "work/churn.ipynb",
                                                          "attachments": ["data/sales.csv", "helpers.py"]}, format="json")
    assert answer.status_code == 202 and answer.json()["attachments"] == ["data/sales.csv", "helpers.py"]
    snapshot = wait_for_snapshot(answer.json()["id"])
    assert snapshot.state == "done", snapshot.error
    notebook = snapshot.notebook
    alice_api.post(f"/api/v1/shares/notebooks/{notebook.pk}/grants/", {"username": "bob", "role": "copy"}, format="json")
    version = bob_api.get(f"/api/v1/shares/notebooks/{notebook.pk}/versions/").json()["results"][0]
    assert [(item["path"], item["size"]) for item in version["files"]] == [("data/sales.csv", len(SALES)),
                                                                           ("helpers.py", len(HELPERS))]
    assert bob_api.get(f"/api/v1/shares/notebooks/{notebook.pk}/versions/1/files/data/sales.csv").content == SALES

    # Bob already has a folder named like the notebook: the copy goes into a new one, his stays as it was.
    bob_workspace = launch(bob_api, "mine")
    put_files(bob_workspace, {"churn/keep.txt": b"mine"})
    copy = bob_api.post(f"/api/v1/shares/notebooks/{notebook.pk}/copies/", {"workspace": bob_workspace.pk}, format="json")
    done = wait_for_copy(copy.json()["id"])
    assert done.state == "done" and done.path == "churn (copy 1)/churn.ipynb", done.error
    assert read_file(bob_workspace, "churn/keep.txt") == "mine"
    assert bob_api.get(f"/api/v1/shares/copies/{done.pk}/").json()["lab_url"].endswith("/tree/churn (copy 1)/churn.ipynb")

    # In his kernel, from the copy's folder, the notebook reads its data and imports its helper.
    hub = hub_client()
    state = hub.server_state("bob", bob_workspace.server_name)
    token_id, token = hub.server_token("bob", bob_workspace.server_name, note="test")
    code = ("import json, os, sys\nos.chdir('churn (copy 1)')\nsys.path.insert(0, '.')\nnb = json.load(open('churn.ipynb'))\n"
            "exec('\\n'.join(''.join(c['source']) for c in nb['cells']))")
    url = f"{hub.servers_url}{state.url.rstrip('/')}" if state.url.startswith("/") else state.url.rstrip("/")
    outcome, out = run_in_kernel(url, token, code)
    hub.token_revoke("bob", token_id)
    assert outcome == "ok" and "total 7" in out, out
    for client, ws in ((alice_api, workspace), (bob_api, bob_workspace)):
        client.delete(f"/api/v1/workspaces/{ws.pk}/")
