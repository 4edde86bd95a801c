"""Notebooks put into real workspaces the way their owners would (through the server's contents API, with a
one-server token), and waits on Celery's work."""

import json
import time
from contextlib import contextmanager

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


@contextmanager
def _server(workspace):
    """(hub client, server url, a one-server token) of a running workspace, as the platform itself reaches it."""
    hub = hub_client()
    username = workspace.owner.get_username()
    state = hub.server_state(username, workspace.server_name)
    token_id, token = hub.server_token(username, workspace.server_name, note="test")
    try:
        yield hub, state.url, token
    finally:
        hub.token_revoke(username, token_id)


def put_files(workspace, files):
    """Write {path: bytes} into the workspace's home (folders made as needed)."""
    with _server(workspace) as (hub, url, token):
        folders = sorted({path.rsplit("/", 1)[0] for path in files if "/" in path})
        hub.server_contents_write(url, directories=folders, files=files, token=token)


def read_file(workspace, path):
    with _server(workspace) as (hub, url, token):
        model = hub.server_contents_model(url, path, token=token, content=True)
    return None if model is None else model["content"]


def _wait_done(model, pk, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = model.objects.get(pk=pk)
        if row.state != "queued":
            return row
        time.sleep(0.2)
    raise AssertionError(f"Celery never finished {model.__name__} {pk}")


def wait_for_snapshot(snapshot_id, timeout=60):
    return _wait_done(Snapshot, snapshot_id, timeout)


def wait_for_copy(copy_id, timeout=60):
    return _wait_done(NotebookCopy, copy_id, timeout)


def hub_api(method, path, **kwargs):
    import requests

    return requests.request(method, f"{settings.PLATFORM_HUB_API_URL}{path}", timeout=10,
                            headers={"Authorization": f"token {settings.PLATFORM_HUB_API_TOKEN}"}, **kwargs)


def cells(raw):
    return [cell["source"] for cell in json.loads(raw)["cells"]]
