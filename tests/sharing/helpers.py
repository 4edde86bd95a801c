"""Notebooks put into real workspaces the way their owners would (through the server's contents API, with a
one-server token), and waits on Celery's work."""

import json
import time

import nbformat
from django.conf import settings

from sharing.models import NotebookCopy, Snapshot
from workspaces.hub import hub_client


def notebook_bytes(*sources, outputs=None):
    notebook = nbformat.v4.new_notebook()
    # Stable cell ids, as an editor keeps them from one save to the next.
    notebook.cells = [nbformat.v4.new_code_cell(source, id=f"cell-{index}") for index, source in enumerate(sources)]
    for index, output in (outputs or {}).items():
        notebook.cells[index].outputs = [output]
    return nbformat.writes(notebook).encode("utf-8")


def html_output(html):
    return nbformat.v4.new_output("display_data", data={"text/html": html})


def put_files(workspace, files):
    """Write {path: bytes} into the workspace's home (folders made as needed)."""
    hub = hub_client()
    username = workspace.owner.get_username()
    state = hub.server_state(username, workspace.server_name)
    token_id, token = hub.server_token(username, workspace.server_name, note="test")
    try:
        folders = sorted({path.rsplit("/", 1)[0] for path in files if "/" in path})
        hub.server_contents_write(state.url, directories=folders, files=files, token=token)
    finally:
        hub.token_revoke(username, token_id)


def read_file(workspace, path):
    hub = hub_client()
    username = workspace.owner.get_username()
    state = hub.server_state(username, workspace.server_name)
    token_id, token = hub.server_token(username, workspace.server_name, note="test")
    try:
        model = hub.server_contents_model(state.url, path, token=token, content=True)
    finally:
        hub.token_revoke(username, token_id)
    return None if model is None else model["content"]


def wait_for_snapshot(snapshot_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = Snapshot.objects.get(pk=snapshot_id)
        if snapshot.state != Snapshot.State.QUEUED:
            return snapshot
        time.sleep(0.2)
    raise AssertionError("the snapshot was never taken")


def wait_for_copy(copy_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        copy = NotebookCopy.objects.get(pk=copy_id)
        if copy.state != NotebookCopy.State.QUEUED:
            return copy
        time.sleep(0.2)
    raise AssertionError("the copy was never written")


def hub_api(method, path, **kwargs):
    import requests

    return requests.request(method, f"{settings.PLATFORM_HUB_API_URL}{path}", timeout=10,
                            headers={"Authorization": f"token {settings.PLATFORM_HUB_API_TOKEN}"}, **kwargs)


def cells(raw):
    return [cell["source"] for cell in json.loads(raw)["cells"]]
