"""A project's template files written into a workspace's home: at launch in a project (asked for with
`project_files`) or later ("add project files" on a running workspace).

The files reach the home through the single-user server's contents API, over the hub's proxy, with a hub
token the portal mints for that one server and revokes when done (it expires within minutes anyway): the
server writes them as the workspace's own account. Workspace code may be hostile and could read whatever
reaches its server, so the portal's own token never goes there; the one that does opens nothing but that
workspace. Nothing of the platform's state enters the workspace. The template is rendered, committed with git and packed in the
Celery worker (projects/templates.py); the folder `<project slug>/` in the home receives the result,
`.git` included. A folder of that name that exists already is left alone.
"""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction

from projects.services import project_for_launch
from projects.templates import RenderContext, TemplateError, project_files_render, template_resolve
from workspaces.hub import HubError, hub_client
from workspaces.models import Workspace, WorkspaceEvent

logger = logging.getLogger(__name__)
Desired, Observed = Workspace.Desired, Workspace.Observed
WAIT_SECONDS = 3
MAX_WAITS = 200  # ten minutes of a workspace that is still starting


def queue_project_files(*, workspace, template, project=None):
    from workspaces.tasks import workspace_project_files_task

    workspace_project_files_task.delay_on_commit(workspace.pk, template, (project or workspace.project).pk)


def workspace_add_project_files(*, workspace, actor, template="", project=None):
    """Ask for the project's template to be written into the workspace's home (its owner only). The workspace's
    own project is used unless it has none; then ``project`` names one of its team. Returns the template's name."""
    if workspace.desired_state != Desired.RUNNING:
        raise ValidationError({"workspace": "Start the workspace first: the files are written into a running workspace."})
    project = workspace.project or project
    if project is None:
        raise ValidationError({"project": "This workspace works for no project: say which project the files are for."})
    project_for_launch(user=actor, team=workspace.team, project=project)
    name, _ = template_resolve(template)
    with transaction.atomic():
        queue_project_files(workspace=workspace, template=name, project=project)
    return name


def project_files_write(*, workspace_id, template, project_id, hub=None):
    """One attempt at writing the files; returns seconds to wait before the next (the workspace is still
    starting) or None when done, failed for good (a `project_files_failed` event says why) or moot."""
    from projects.models import Project
    from workspaces.services import record_event

    workspace = Workspace.objects.select_related("owner", "team").filter(pk=workspace_id).first()
    project = Project.objects.select_related("team").filter(pk=project_id).first()
    if workspace is None or project is None or workspace.desired_state != Desired.RUNNING:
        return None
    if workspace.observed_state != Observed.RUNNING:
        return WAIT_SECONDS if workspace.observed_state in (Observed.PENDING, Observed.STARTING) else None
    hub = hub or hub_client()
    username, token_id = workspace.owner.get_username(), None
    try:
        state = hub.server_state(username, workspace.server_name)
        if not state.ready:
            return WAIT_SECONDS
        token_id, token = hub.server_token(username, workspace.server_name, note="project files")
        if hub.server_contents_exists(state.url, project.slug, token=token):
            _record(workspace, WorkspaceEvent.Kind.PROJECT_FILES_FAILED, record_event,
                    f"~/{project.slug} exists already: the project's files were not written over it.", project=project.slug)
            return None
        name, source = template_resolve(template)
        owner = workspace.owner
        rendered = project_files_render(source=source, template_name=name, context=RenderContext(
            name=project.name, slug=project.slug, description=project.description, team=project.team.name,
            repository_url=project.repository_url, board_url=project.board_url,
            author_name=owner.get_full_name() or owner.get_username(), author_email=owner.email))
        prefix = project.slug  # whatever a third-party template names its output folder
        hub.server_contents_write(state.url, directories=[prefix, *(f"{prefix}/{d}" for d in rendered.directories)],
                                  files={f"{prefix}/{path}": data for path, data in rendered.files.items()}, token=token)
    except (TemplateError, ValidationError) as exc:
        message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        _record(workspace, WorkspaceEvent.Kind.PROJECT_FILES_FAILED, record_event, message, project=project.slug)
        return None
    except HubError as exc:
        logger.warning("Writing project files into workspace %s failed: %s", workspace_id, exc)
        _record(workspace, WorkspaceEvent.Kind.PROJECT_FILES_FAILED, record_event,
                f"The workspace's server did not take the files: {exc}", project=project.slug)
        return None
    finally:
        if token_id is not None:
            _revoke_quietly(hub, username, token_id)
    _record(workspace, WorkspaceEvent.Kind.PROJECT_FILES, record_event,
            f"The {name} template's files are in ~/{prefix}, committed with git ({rendered.commit[:12]}).",
            project=project.slug, template=name, commit=rendered.commit, folder=prefix)
    return None


def _revoke_quietly(hub, username, token_id):
    """The token expires by itself within minutes; revoking it now only shortens that."""
    try:
        hub.token_revoke(username, token_id)
    except HubError as exc:
        logger.info("Revoking the project-files token of %s failed (it expires anyway): %s", username, exc)


def _record(workspace, kind, record_event, message, **data):
    with transaction.atomic():
        record_event(workspace, kind, message=message, **data)
