"""Workspace lifecycle: what people ask for, and what the spawner reports.

Requests change the desired state and append an event in one transaction, then queue the reconciler
(workspaces/reconciler.py) after commit. Reports record what only the spawner sees (why a start
failed, an out-of-memory kill, a server that ended by itself), typed, for the run (generation) they
are about: a late report about an earlier run only adds to the history.
"""


from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from observability import metrics
from portal.accounts.models import Membership
from projects.services import project_for_launch
from workspaces import budgets, environments
from workspaces.models import WORKSPACE_NAME, Workspace, WorkspaceEvent
from workspaces.selectors import profile_list_for
from workspaces.units import format_size

Desired, Observed, Failure, Kind = Workspace.Desired, Workspace.Observed, Workspace.Failure, WorkspaceEvent.Kind


def record_event(workspace, kind, *, actor=None, message="", **data):
    """Append to the workspace's history (its timeline, the audit of its lifecycle and the basis of metering);
    call it inside the transaction of the change it records."""
    WorkspaceEvent.objects.create(workspace=workspace, kind=kind, message=message[:500], data=data,
                                  actor_username=actor.get_username() if actor is not None else "")


def _queue_reconcile(workspace):
    from workspaces.tasks import workspace_reconcile_task

    workspace_reconcile_task.delay_on_commit(workspace.pk)


# --- Requests -----------------------------------------------------------------

def _resolve_team(owner, team):
    teams = list(Membership.objects.filter(user=owner).select_related("team"))
    if team is not None:
        if not any(m.team_id == team.pk for m in teams):
            raise ValidationError({"team": "You are not a member of that team."})
        return team
    if not teams:
        raise ValidationError({"team": "You are in no team yet; ask a team admin to add you before launching."})
    if len(teams) > 1:
        raise ValidationError({"team": "You are in several teams: say which one pays for this workspace."})
    return teams[0].team


def _budget_check(*, team, profile, workspace=None, project=None):
    try:
        budgets.budget_check_launch(team=team, profile=profile, workspace=workspace, project=project)
    except ValidationError:
        metrics.launch_refused(reason="budget", profile=profile.name)
        raise


def workspace_create(*, owner, name, profile, team=None, image="", project=None, project_files=False, request=None):
    """Create a workspace and ask for it to run. Returns at once; the reconciler launches it.

    In a ``project`` (of the workspace's team, live, the owner a member; the team defaults to the project's),
    its costs go to the project and its launch is checked against the project's budget too; with
    ``project_files`` the project's template is written into its home once it runs."""
    name = (name or "").strip()
    try:
        WORKSPACE_NAME(name)
    except ValidationError as exc:
        raise ValidationError({"name": exc.messages}) from None
    team = _resolve_team(owner, team if team is not None or project is None else project.team)
    project = project_for_launch(user=owner, team=team, project=project)
    if profile is None or not profile_list_for(user=owner, team=team).filter(pk=profile.pk).exists():
        raise ValidationError({"profile": "That profile does not exist or is not available to your team."})
    try:
        image = environments.resolve(image, user=owner, team=team)
    except ValidationError:
        metrics.launch_refused(reason="image_blocked", profile=profile.name)
        raise
    try:
        with transaction.atomic():
            _budget_check(team=team, profile=profile, project=project)
            workspace = Workspace.objects.create(owner=owner, team=team, project=project, name=name, profile=profile, image=image,
                                                 desired_state=Desired.RUNNING, observed_state=Observed.PENDING,
                                                 generation=1, start_requested=timezone.now(),
                                                 status_message="Waiting to start…")
            record_event(workspace, Kind.CREATED, actor=owner, profile=profile.name, image=image, team=team.slug,
                         **({"project": project.slug} if project else {}))
            _queue_reconcile(workspace)
            if project is not None and project_files:
                from workspaces.project_files import queue_project_files

                queue_project_files(workspace=workspace, template="")
    except IntegrityError:
        raise ValidationError({"name": f"You already have a workspace named {name!r}."}) from None
    return workspace


def workspace_request_start(*, workspace, actor):
    """Ask for the workspace to run. Idempotent: a running or starting workspace is left alone."""
    with transaction.atomic():
        workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
        if workspace.desired_state == Desired.DELETED:
            raise ValidationError({"detail": "This workspace was deleted."})
        if workspace.desired_state == Desired.RUNNING and workspace.observed_state not in (Observed.FAILED, Observed.STOPPED, Observed.NONE):
            return workspace
        if workspace.project_id is not None and workspace.project.is_archived:
            raise ValidationError({"project": f"Project {workspace.project.slug!r} is archived: its workspaces do not start again."})
        _budget_check(team=workspace.team, profile=workspace.profile, workspace=workspace, project=workspace.project)
        workspace.desired_state = Desired.RUNNING
        workspace.observed_state = Observed.PENDING
        workspace.failure_reason = Failure.NONE
        workspace.progress = 0
        workspace.status_message = "Waiting to start…"
        workspace.generation = F("generation") + 1
        workspace.start_requested = timezone.now()
        workspace.server_ended_at = workspace.vanished_at = None
        workspace.save()
        record_event(workspace, Kind.START_REQUESTED, actor=actor)
        _queue_reconcile(workspace)
    workspace.refresh_from_db()
    return workspace


def workspace_request_stop(*, workspace, actor, reason="", kind=Kind.STOP_REQUESTED):
    """Ask for the workspace to stop; its home is kept. Idempotent.

    ``reason`` (e.g. "idle for 30 min") goes into the event and the status message; automatic stops
    pass no actor and their own event ``kind`` (e.g. "culled")."""
    with transaction.atomic():
        workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
        if workspace.desired_state != Desired.RUNNING:
            return workspace
        workspace.desired_state = Desired.STOPPED
        workspace.stop_reason = reason[:200]
        workspace.status_message = (stopping_message(workspace) if workspace.observed_state not in (Observed.STOPPED, Observed.NONE, Observed.FAILED)
                                    else stopped_message(workspace))
        workspace.save(update_fields=["desired_state", "status_message", "stop_reason"])
        record_event(workspace, kind, actor=actor, message=reason)
        _queue_reconcile(workspace)
    return workspace


def stopping_message(workspace):
    return f"Stopping: {workspace.stop_reason}…" if workspace.stop_reason else "Stopping…"


def stopped_message(workspace):
    return f"Stopped: {workspace.stop_reason}." if workspace.stop_reason else ""


def workspace_request_restart(*, workspace, actor):
    """Stop the running server and start a fresh one (a new generation). Starts a stopped workspace."""
    with transaction.atomic():
        workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
        if workspace.desired_state == Desired.DELETED:
            raise ValidationError({"detail": "This workspace was deleted."})
        workspace.desired_state = Desired.RUNNING
        workspace.failure_reason = Failure.NONE
        workspace.generation = F("generation") + 1
        workspace.start_requested = timezone.now()
        workspace.server_ended_at = workspace.vanished_at = None
        workspace.status_message = "Restarting…"
        if workspace.observed_state in (Observed.FAILED, Observed.NONE):
            workspace.observed_state = Observed.STOPPED
        elif workspace.observed_state == Observed.RUNNING:
            # Shown as "stopping" at once; the reconciler stops the old generation's server.
            workspace.observed_state = Observed.STOPPING
        workspace.save()
        record_event(workspace, Kind.RESTART_REQUESTED, actor=actor)
        _queue_reconcile(workspace)
    workspace.refresh_from_db()
    return workspace


def workspace_request_delete(*, workspace, actor, delete_home=False):
    """Stop and forget the workspace; its home is kept unless `delete_home`. Idempotent.

    The spawner removes the home when the hub forgets the server (it asks the portal, see
    `workspace_storage_disposition`), so the answer must be settled before that: it is fixed here."""
    with transaction.atomic():
        workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
        if workspace.desired_state == Desired.DELETED:
            return workspace
        workspace.desired_state = Desired.DELETED
        workspace.delete_home = delete_home
        workspace.save(update_fields=["desired_state", "delete_home"])
        record_event(workspace, Kind.DELETE_REQUESTED, actor=actor,
               message="Its home will be deleted too." if delete_home else "Its home is kept.", delete_home=delete_home)
        _queue_reconcile(workspace)
    return workspace


# --- What the spawner reports ---------------------------------------------------

def _about_this_run(workspace, generation):
    """Whether a report is about the workspace's current run: reports carry the spec's generation; one
    without (a spawner that never got a spec) counts as current."""
    return generation is None or generation == workspace.generation


def _out_of_memory_message(workspace):
    return (f"The server used more than its {format_size(workspace.profile.memory_bytes)} memory limit and was "
            "stopped (out of memory).")


def workspace_report_spawn_failure(*, workspace, message, out_of_memory=False, generation=None):
    """The spawner could not start this run (the host has no such GPU, an image it cannot pull, a server that
    died on the way up); record why, typed. A late report about an earlier run only adds to the history."""
    current = _about_this_run(workspace, generation)
    failure = Failure.OUT_OF_MEMORY if out_of_memory else Failure.SPAWN_ERROR
    with transaction.atomic():
        if current:
            Workspace.objects.filter(pk=workspace.pk).update(failure_reason=failure, status_message=message)
        record_event(workspace, Kind.SPAWN_REFUSED, message=message, out_of_memory=out_of_memory, current_run=current)
    if current:
        _queue_reconcile(workspace)


def workspace_report_out_of_memory(*, workspace, generation=None):
    """The OOM killer took a process (a kernel) inside the workspace's limit group; the server lives on, and
    the person must know why their kernel died. A repeated report adds a repeated event."""
    limit = workspace.profile.memory_bytes
    record_event(workspace, Kind.OUT_OF_MEMORY,
                 message=(f"A process used more than the workspace's {format_size(limit)} memory limit and was killed "
                          "(out of memory); the server is still running. Restart the kernel, or choose a bigger size."),
                 current_run=_about_this_run(workspace, generation))


def workspace_report_server_exit(*, workspace, last_seen_alive, exit_status=None, out_of_memory=False, log_tail="",
                                 generation=None):
    """The spawner saw this workspace's server end without being asked to: record why and the last
    moment it was seen alive (where the run's bill ends). A late report about an earlier run only adds
    to the history. Idempotent enough: a repeated report adds a repeated event."""
    now = timezone.now()
    run_began = workspace.start_requested or workspace.created
    ended = min(max(last_seen_alive or now, run_began), now)
    last_line = next((line.strip() for line in reversed((log_tail or "").splitlines()) if line.strip()), "")
    if out_of_memory:
        failure, message = Failure.OUT_OF_MEMORY, _out_of_memory_message(workspace)
    else:
        failure = Failure.SERVER_DIED
        if isinstance(exit_status, int) and exit_status < 0:  # a signal: its own last words say nothing of it
            message = f"The server stopped by itself (killed by signal {-exit_status})."
        else:
            status = f"exit status {exit_status}" if isinstance(exit_status, int) else "no exit status"
            message = f"The server stopped by itself ({status})" + (f": {last_line}" if last_line else ".")
    current = _about_this_run(workspace, generation) and (last_seen_alive is None or last_seen_alive >= run_began)
    with transaction.atomic():
        if current:
            Workspace.objects.filter(pk=workspace.pk).update(failure_reason=failure, status_message=message[:500],
                                                             server_ended_at=ended)
        record_event(workspace, Kind.SERVER_EXITED, message=message, ended_at=ended.isoformat(), exit_status=exit_status,
                     out_of_memory=bool(out_of_memory), log_tail=(log_tail or "")[-1000:], current_run=current)
    if current:
        _queue_reconcile(workspace)


def workspace_storage_disposition(*, workspace):
    """What the spawner should do with the home of a server the hub forgets: delete it only for a
    workspace deleted with "delete its home" (never for a live one, whatever the flag says)."""
    return {"delete_home": workspace.desired_state == Desired.DELETED and workspace.delete_home}


def workspace_report_home_deleted(*, workspace):
    """The spawner removed the deleted workspace's home. Idempotent (one event)."""
    if not workspace.events.filter(kind=Kind.HOME_DELETED).exists():
        record_event(workspace, Kind.HOME_DELETED, message="Its home and everything in it were deleted.")
