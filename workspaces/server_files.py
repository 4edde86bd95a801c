"""Reading a person's running workspace from the portal: its files through the single-user server's contents
API, with a one-server token that lives for one read and is revoked after it (never the portal's own token: the
server runs its owner's code). Used by sharing (publish, copies) and image builds (recipe files)."""

import logging
from contextlib import contextmanager

from django.core.exceptions import ValidationError

from workspaces.hub import HubError
from workspaces.models import Workspace

logger = logging.getLogger(__name__)
TOKEN_SECONDS = 120


def home_relative_folder(value, *, field, message="The folder must be inside the workspace's home (no '..', no '~')."):
    """A folder named relative to a workspace's home, without leading or trailing slashes ("" is the home itself):
    refused (on ``field``) when it would leave the home or carries control characters or backslashes."""
    folder = str(value or "").strip().strip("/")
    if folder.startswith("~") or ".." in folder.split("/") or "\\" in folder or any(ord(c) < 32 for c in folder):
        raise ValidationError({field: message})
    return folder


def running_workspace(*, actor, workspace_id, field="workspace"):
    """The actor's own workspace ``workspace_id``, running; a ValidationError on ``field`` that says why not."""
    workspace = (Workspace.objects.select_related("owner", "team").filter(pk=workspace_id, owner=actor)
                 .exclude(desired_state=Workspace.Desired.DELETED).first()) if isinstance(workspace_id, int) else None
    if workspace is None:
        raise ValidationError({field: "You have no such workspace."})
    if workspace.desired_state != Workspace.Desired.RUNNING or workspace.observed_state != Workspace.Observed.RUNNING:
        raise ValidationError({field: f"Workspace {workspace.name} is not running: start it first."})
    return workspace


@contextmanager
def server_access(workspace, hub, *, note):
    """(server url, one-server token) of a running workspace; the token is revoked on the way out."""
    username = workspace.owner.get_username()
    state = hub.server_state(username, workspace.server_name)
    if not state.ready:
        raise HubError(f"workspace {workspace.name} is not ready")
    token_id, token = hub.server_token(username, workspace.server_name, expires_in=TOKEN_SECONDS, note=note)
    try:
        yield state.url, token
    finally:
        try:
            hub.token_revoke(username, token_id)
        except HubError as exc:
            logger.info("Revoking the %s token of %s failed (it expires anyway): %s", note, username, exc)
