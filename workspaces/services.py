"""Workspace lifecycle: requests from people, and the reconciler that makes the hub match them.

Requests change the desired state and append an event in one transaction, then queue
the reconciler after commit. The reconciler compares desired with what the hub reports,
makes one step of progress, and says when it wants to look again. No hub call happens
inside a database transaction.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from portal.accounts.models import Membership
from portal.integrations.jupyterhub import HubError, HubUnreachable
from workspaces import environments
from workspaces.hub import hub_client
from workspaces.models import WORKSPACE_NAME, Workspace, WorkspaceEvent
from workspaces.selectors import profile_list_for
from workspaces.states import is_settled
from workspaces.units import format_size

logger = logging.getLogger(__name__)
Desired, Observed, Failure = Workspace.Desired, Workspace.Observed, Workspace.Failure


def _event(workspace, kind, *, actor=None, message="", **data):
    WorkspaceEvent.objects.create(workspace=workspace, kind=kind, message=message[:500], data=data,
                                  actor_username=actor.get_username() if actor is not None else "")


def _queue_reconcile(workspace):
    from workspaces.tasks import workspace_reconcile_task

    workspace_reconcile_task.delay_on_commit(workspace.pk)


# --- Requests -----------------------------------------------------------------

def _budget_check(**kwargs):
    """The team's budget must allow the launch (costs app); it locks the team's budget row until commit."""
    from costs.services import budget_check_launch

    budget_check_launch(**kwargs)


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


def workspace_create(*, owner, name, profile, team=None, image="", request=None):
    """Create a workspace and ask for it to run. Returns at once; the reconciler launches it."""
    name = (name or "").strip()
    try:
        WORKSPACE_NAME(name)
    except ValidationError as exc:
        raise ValidationError({"name": exc.messages}) from None
    team = _resolve_team(owner, team)
    if profile is None or not profile_list_for(user=owner, team=team).filter(pk=profile.pk).exists():
        raise ValidationError({"profile": "That profile does not exist or is not available to your team."})
    image = environments.resolve(image, user=owner, team=team)
    try:
        with transaction.atomic():
            _budget_check(team=team, profile=profile)
            workspace = Workspace.objects.create(owner=owner, team=team, name=name, profile=profile, image=image,
                                                 desired_state=Desired.RUNNING, observed_state=Observed.PENDING,
                                                 generation=1, start_requested=timezone.now(),
                                                 status_message="Waiting to start…")
            _event(workspace, "created", actor=owner, profile=profile.name, image=image, team=team.slug)
            _queue_reconcile(workspace)
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
        _budget_check(team=workspace.team, profile=workspace.profile, workspace=workspace)
        workspace.desired_state = Desired.RUNNING
        workspace.observed_state = Observed.PENDING
        workspace.failure_reason = Failure.NONE
        workspace.progress = 0
        workspace.status_message = "Waiting to start…"
        workspace.generation = F("generation") + 1
        workspace.start_requested = timezone.now()
        workspace.server_ended_at = workspace.vanished_at = None
        workspace.save()
        _event(workspace, "start_requested", actor=actor)
        _queue_reconcile(workspace)
    workspace.refresh_from_db()
    return workspace


def workspace_request_stop(*, workspace, actor, reason="", kind="stop_requested"):
    """Ask for the workspace to stop; its home is kept. Idempotent.

    ``reason`` (e.g. "idle for 30 min") goes into the event and the status message; automatic stops
    pass no actor and their own event ``kind`` (e.g. "culled")."""
    with transaction.atomic():
        workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
        if workspace.desired_state != Desired.RUNNING:
            return workspace
        workspace.desired_state = Desired.STOPPED
        workspace.stop_reason = reason[:200]
        workspace.status_message = (_stopping_message(workspace) if workspace.observed_state not in (Observed.STOPPED, Observed.NONE, Observed.FAILED)
                                    else _stopped_message(workspace))
        workspace.save(update_fields=["desired_state", "status_message", "stop_reason"])
        _event(workspace, kind, actor=actor, message=reason)
        _queue_reconcile(workspace)
    return workspace


def _stopping_message(workspace):
    return f"Stopping: {workspace.stop_reason}…" if workspace.stop_reason else "Stopping…"


def _stopped_message(workspace):
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
        _event(workspace, "restart_requested", actor=actor)
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
        _event(workspace, "delete_requested", actor=actor,
               message="Its home will be deleted too." if delete_home else "Its home is kept.", delete_home=delete_home)
        _queue_reconcile(workspace)
    return workspace


# --- Reconciliation -----------------------------------------------------------

def _observe(workspace, observed, *, kind=None, message=None, progress=None, failure=None, ended_at=None, **fields):
    """Record what the hub showed, with an event when the observed state changes. Compare-and-set on
    (observed state, generation) so a slower, stale reconciler cannot overwrite a newer observation.

    `ended_at`: when a server that ended by itself was last seen alive; the event carries it, and
    metering ends the run's bill there rather than at the moment the portal noticed."""
    now = timezone.now()
    changes = {"observed_state": observed, "observed_at": now, **fields}
    if message is not None:
        changes["status_message"] = message[:500]
    if progress is not None:
        changes["progress"] = progress
    if failure is not None:
        changes["failure_reason"] = failure
    if observed == Observed.RUNNING and workspace.observed_state != Observed.RUNNING:
        changes["started"] = now
    if observed in (Observed.STOPPED, Observed.FAILED) and workspace.observed_state not in (Observed.STOPPED, Observed.FAILED, Observed.NONE):
        changes["stopped"] = now
    with transaction.atomic():
        updated = Workspace.objects.filter(pk=workspace.pk, observed_state=workspace.observed_state,
                                           generation=workspace.generation).update(**changes)
        if updated and (kind or observed != workspace.observed_state):
            _event(workspace, kind or observed, message=changes.get("status_message", ""),
                   **({"reason": failure} if failure else {}),
                   **({"ended_at": min(ended_at, now).isoformat()} if ended_at else {}))
    return bool(updated)


def _observe_settled(workspace, observed, **fields):
    """Record an observation that settles the workspace; the reconciler's next delay: None when it is
    settled, 1 when a newer observation won the compare-and-set (look again)."""
    return None if _observe(workspace, observed, **fields) else 1


def _spawn_timed_out(workspace):
    started = workspace.start_requested or workspace.created
    return timezone.now() - started > timedelta(seconds=settings.PLATFORM_SPAWN_TIMEOUT)


def workspace_reconcile(*, workspace_id):
    """One step towards the desired state. Returns seconds until the next look, or None when settled.

    Idempotent: it reads the hub's state first and only asks for what is missing.
    """
    workspace = Workspace.objects.select_related("owner").filter(pk=workspace_id).first()
    if workspace is None:
        return None
    settled = is_settled(workspace.desired_state, workspace.observed_state)
    # A "running" workspace is still checked: the janitor queues one when its server vanished.
    if settled and (workspace.desired_state, workspace.observed_state) != ("running", "running"):
        return None
    hub, user, server = hub_client(), workspace.owner.get_username(), workspace.server_name
    try:
        state = hub.server_state(user, server)
        if workspace.desired_state == Desired.RUNNING:
            return _reconcile_running(workspace, hub, user, server, state)
        return _reconcile_stopped(workspace, hub, user, server, state)
    except HubUnreachable as exc:
        logger.warning("Reconciling workspace %s: %s", workspace.pk, exc)
        if workspace.desired_state == Desired.RUNNING and workspace.observed_state != Observed.RUNNING and _spawn_timed_out(workspace):
            return _observe_settled(workspace, Observed.FAILED, failure=Failure.HUB_UNREACHABLE,
                                    message="The notebook hub is unreachable; the workspace could not start. Try again later.")
        Workspace.objects.filter(pk=workspace.pk).update(status_message="The notebook hub is unreachable; retrying…")
        return 5
    except HubError as exc:
        logger.warning("Reconciling workspace %s: %s", workspace.pk, exc)
        if workspace.desired_state == Desired.RUNNING:
            return _observe_settled(workspace, Observed.FAILED, failure=Failure.SPAWN_ERROR, message=str(exc))
        return 10


def _reconcile_running(workspace, hub, user, server, state):
    if (workspace.server_ended_at and workspace.served_generation == workspace.generation
            and workspace.observed_state in (Observed.STARTING, Observed.RUNNING)):
        # The spawner said this run's server ended; the hub may list it for a moment longer.
        return _reconcile_gone(workspace, hub, user, server)
    if state.exists and not state.pending and workspace.served_generation < workspace.generation:
        hub.stop_server(user, server)  # a restart: stop this one, start the new generation next time
        _observe(workspace, Observed.STOPPING, message="Restarting: stopping the old server…")
        return 1
    if state.exists and state.ready:
        return _observe_settled(workspace, Observed.RUNNING, progress=100, message="", failure=Failure.NONE,
                                last_seen_alive=timezone.now())
    if state.exists and state.pending:
        if _spawn_timed_out(workspace):
            hub.stop_server(user, server)
            return _observe_settled(workspace, Observed.FAILED, failure=Failure.TIMEOUT,
                                    message=f"The server did not come up within {settings.PLATFORM_SPAWN_TIMEOUT} seconds.")
        if state.pending == "spawn":
            # The hub replays the events so far at once; waiting longer would only hold a worker
            # that other workspaces' start requests queue behind.
            event = hub.spawn_progress(user, server, max_seconds=0.3)
            if event.failed:
                return _observe_settled(workspace, Observed.FAILED, failure=_failure_from(event.message), message=event.message)
            _observe(workspace, Observed.STARTING, progress=max(10, min(event.progress, 99)),
                     message=event.message or "Starting…")
        return _starting_poll_delay(workspace)
    # No server at the hub.
    if workspace.observed_state in (Observed.STARTING, Observed.RUNNING) and workspace.served_generation == workspace.generation:
        return _reconcile_gone(workspace, hub, user, server)
    if _spawn_timed_out(workspace):
        return _observe_settled(workspace, Observed.FAILED, failure=Failure.TIMEOUT,
                                message=f"The server did not come up within {settings.PLATFORM_SPAWN_TIMEOUT} seconds.")
    hub.ensure_user(user)
    hub.start_server(user, server)
    _observe(workspace, Observed.STARTING, kind="spawn_requested", progress=5, message="Asking the hub to start the server…",
             served_generation=workspace.generation)
    return 1


def _reconcile_stopped(workspace, hub, user, server, state):
    if state.exists:
        hub.stop_server(user, server, remove=workspace.desired_state == Desired.DELETED)
        if workspace.observed_state != Observed.STOPPING:
            _observe(workspace, Observed.STOPPING, message=_stopping_message(workspace))
        return 1
    if workspace.desired_state == Desired.DELETED:
        hub.stop_server(user, server, remove=True)  # forget the named server at the hub too
    return _observe_settled(workspace, Observed.STOPPED, progress=0, message=_stopped_message(workspace))


def _starting_poll_delay(workspace):
    """Seconds until the next look at a spawn in progress: every second at first (most servers are up
    in a few), then less often, because every look costs the hub (which spawns everything) two requests."""
    started = workspace.start_requested or workspace.created
    return 1 if timezone.now() - started < timedelta(seconds=10) else 3


def _failure_from(message):
    return Failure.OUT_OF_MEMORY if "out of memory" in (message or "").lower() else Failure.SPAWN_ERROR


def _reported_reason(workspace):
    """What the spawner said about this run's end (its report is an event; the status message may have been
    overwritten since by a progress message that was already on its way)."""
    said = (workspace.events.filter(kind__in=["spawn_refused", "server_exited", "out_of_memory"],
                                    created__gte=workspace.start_requested or workspace.created)
            .exclude(kind="out_of_memory", data__server_exited=False).order_by("-created", "-id").first())
    return said.message if said else workspace.status_message


SPAWN_RETRIES = 2


def _reconcile_gone(workspace, hub, user, server):
    """This generation's server is gone from the hub. With the spawner's word (why, and until when it
    ran), fail with that at once. A spawn the hub lost without a word (it restarted mid-spawn) is asked
    for again; a running server that vanished without one fails after PLATFORM_EXIT_REPORT_WAIT_SECONDS,
    its bill ending where the janitor last saw it."""
    workspace.refresh_from_db(fields=["failure_reason", "status_message", "server_ended_at", "vanished_at"])
    if workspace.failure_reason:  # the spawner said why: refused, out of memory, exited
        return _observe_settled(workspace, Observed.FAILED, failure=workspace.failure_reason,
                                message=_reported_reason(workspace), ended_at=workspace.server_ended_at)
    if workspace.observed_state == Observed.STARTING:
        retries = workspace.events.filter(kind="spawn_retried", created__gte=workspace.start_requested or workspace.created).count()
        if retries < SPAWN_RETRIES and not _spawn_timed_out(workspace):
            hub.ensure_user(user)
            hub.start_server(user, server)
            _observe(workspace, Observed.STARTING, kind="spawn_retried", progress=5,
                     message="The hub lost the start (it restarted?); asking it again…")
            return 1
        return _observe_settled(workspace, Observed.FAILED, failure=Failure.SPAWN_ERROR,
                                message="The server did not start, and the hub did not say why (it restarted during "
                                        "the start). Try again.")
    now = timezone.now()
    if workspace.vanished_at is None:
        Workspace.objects.filter(pk=workspace.pk, vanished_at__isnull=True).update(
            vanished_at=now, status_message="The server has stopped; finding out why…")
        return 5
    if now - workspace.vanished_at < timedelta(seconds=settings.PLATFORM_EXIT_REPORT_WAIT_SECONDS):
        return 5
    return _observe_settled(workspace, Observed.FAILED, failure=Failure.SERVER_DIED,
                            message="The server stopped unexpectedly, and the hub did not say why.",
                            ended_at=workspace.last_seen_alive or workspace.vanished_at)


def workspace_reconcile_all():
    """Janitor: queue a reconcile for every workspace that is not settled, notice servers that died, and
    stop the workspaces of deactivated accounts."""
    from workspaces.tasks import workspace_reconcile_task

    for workspace in Workspace.objects.filter(desired_state=Desired.RUNNING, owner__is_active=False):
        workspace_request_stop(workspace=workspace, actor=None, reason="its owner's account was deactivated")

    unsettled = [pk for pk, desired, observed in Workspace.objects.values_list("pk", "desired_state", "observed_state")
                 .exclude(desired_state=Desired.DELETED, observed_state__in=[Observed.STOPPED, Observed.NONE, Observed.FAILED])
                 if not is_settled(desired, observed)]
    running = list(Workspace.objects.filter(desired_state=Desired.RUNNING, observed_state=Observed.RUNNING)
                   .select_related("owner"))
    if running:
        try:
            servers = hub_client().running_servers()
        except HubError as exc:
            logger.warning("Janitor could not list hub servers: %s", exc)
            servers = None
        if servers is not None:
            listed = {w.pk for w in running if (w.owner.get_username(), w.server_name) in servers}
            Workspace.objects.filter(pk__in=listed).update(last_seen_alive=timezone.now())
            unsettled += [w.pk for w in running if w.pk not in listed]
    for pk in unsettled:
        workspace_reconcile_task.delay(pk)
    return len(unsettled)


def workspace_report_spawn_failure(*, workspace, message):
    """The spawner refused to start this workspace (e.g. the host has no such GPU); record why."""
    with transaction.atomic():
        Workspace.objects.filter(pk=workspace.pk).update(failure_reason=Failure.SPAWN_ERROR, status_message=message)
        _event(workspace, "spawn_refused", message=message)
    _queue_reconcile(workspace)


def workspace_report_out_of_memory(*, workspace, server_exited):
    """The spawner saw the kernel's OOM killer act inside this workspace's limit group. Idempotent enough:
    a repeated report only adds a repeated event.

    A killed kernel leaves the server up (the event says so); a killed server fails the workspace.
    """
    limit = workspace.profile.memory_bytes
    with transaction.atomic():
        if server_exited:
            Workspace.objects.filter(pk=workspace.pk).update(failure_reason=Failure.OUT_OF_MEMORY)
            message = f"The server used more than its {format_size(limit)} memory limit and was stopped (out of memory)."
        else:
            message = (f"A process used more than the workspace's {format_size(limit)} memory limit and was killed "
                       "(out of memory); the server is still running. Restart the kernel, or choose a bigger size.")
        _event(workspace, "out_of_memory", message=message, server_exited=server_exited)
    if server_exited:
        _queue_reconcile(workspace)


def workspace_report_server_exit(*, workspace, last_seen_alive, exit_status=None, out_of_memory=False, log_tail=""):
    """The spawner saw this workspace's server end without being asked to: record why and the last
    moment it was seen alive (where the run's bill ends). A late report about an earlier run only adds
    to the history. Idempotent enough: a repeated report adds a repeated event."""
    now = timezone.now()
    run_began = workspace.start_requested or workspace.created
    ended = min(max(last_seen_alive or now, run_began), now)
    last_line = next((line.strip() for line in reversed((log_tail or "").splitlines()) if line.strip()), "")
    if out_of_memory:
        failure = Failure.OUT_OF_MEMORY
        message = (f"The server used more than its {format_size(workspace.profile.memory_bytes)} memory limit and was "
                   "stopped (out of memory).")
    else:
        failure = Failure.SERVER_DIED
        if isinstance(exit_status, int) and exit_status < 0:  # a signal: its own last words say nothing of it
            message = f"The server stopped by itself (killed by signal {-exit_status})."
        else:
            status = f"exit status {exit_status}" if isinstance(exit_status, int) else "no exit status"
            message = f"The server stopped by itself ({status})" + (f": {last_line}" if last_line else ".")
    current = last_seen_alive is None or last_seen_alive >= run_began
    with transaction.atomic():
        if current:
            Workspace.objects.filter(pk=workspace.pk).update(failure_reason=failure, status_message=message[:500],
                                                             server_ended_at=ended)
        _event(workspace, "server_exited", message=message, ended_at=ended.isoformat(), exit_status=exit_status,
               out_of_memory=bool(out_of_memory), log_tail=(log_tail or "")[-1000:], current_run=current)
    if current:
        _queue_reconcile(workspace)


def workspace_storage_disposition(*, workspace):
    """What the spawner should do with the home of a server the hub forgets: delete it only for a
    workspace deleted with "delete its home" (never for a live one, whatever the flag says)."""
    return {"delete_home": workspace.desired_state == Desired.DELETED and workspace.delete_home}


def workspace_report_home_deleted(*, workspace):
    """The spawner removed the deleted workspace's home. Idempotent (one event)."""
    if not workspace.events.filter(kind="home_deleted").exists():
        _event(workspace, "home_deleted", message="Its home and everything in it were deleted.")
