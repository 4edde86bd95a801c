"""The reconciler: it makes the hub match what people asked for, one step at a time.

`workspace_reconcile` compares a workspace's desired state with what the hub reports, makes one step
of progress (create the hub user, start, read spawn progress, stop), records what it saw, and says
when it wants to look again; `workspace_reconcile_all` is the janitor that re-queues whatever is not
settled. Observations are compare-and-set updates on (observed state, generation), so a slower, stale
step never overwrites a newer one; every step may run twice. No hub call happens inside a database
transaction. Why a server failed comes typed: from the spawner's own reports (workspaces/services.py,
`workspace_report_*`), never from reading a message. Tested as a table against the in-memory
`workspaces.hub_fake.FakeHub` (tests/workspaces/test_reconciler.py), and end to end with a real hub.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from observability import metrics
from workspaces.hub import HubError, HubUnreachable, hub_client
from workspaces.models import Workspace, WorkspaceEvent
from workspaces.services import record_event, stopped_message, stopping_message, workspace_request_stop
from workspaces.states import is_settled

logger = logging.getLogger(__name__)
Desired, Observed, Failure, Kind = Workspace.Desired, Workspace.Observed, Workspace.Failure, WorkspaceEvent.Kind


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
            record_event(workspace, kind or observed, message=changes.get("status_message", ""),
                   **({"reason": failure} if failure else {}),
                   **({"ended_at": min(ended_at, now).isoformat()} if ended_at else {}))
        if updated:
            metrics.workspace_observed(before=workspace.observed_state, after=observed, profile=workspace.profile.name,
                                       failure=failure or "", requested_at=workspace.start_requested,
                                       message=changes.get("status_message", ""))
    return bool(updated)


def _observe_settled(workspace, observed, **fields):
    """Record an observation that settles the workspace; the reconciler's next delay: None when it is
    settled, 1 when a newer observation won the compare-and-set (look again)."""
    return None if _observe(workspace, observed, **fields) else 1


def _spawn_timed_out(workspace):
    started = workspace.start_requested or workspace.created
    return timezone.now() - started > timedelta(seconds=settings.PLATFORM_SPAWN_TIMEOUT)


def workspace_reconcile(*, workspace_id, hub=None):
    """One step towards the desired state. Returns seconds until the next look, or None when settled.

    Idempotent: it reads the hub's state first and only asks for what is missing. `hub`: a client
    (default: the platform's hub).
    """
    workspace = Workspace.objects.select_related("owner", "profile").filter(pk=workspace_id).first()
    if workspace is None:
        return None
    settled = is_settled(workspace.desired_state, workspace.observed_state)
    # A "running" workspace is still checked: the janitor queues one when its server vanished.
    if settled and (workspace.desired_state, workspace.observed_state) != ("running", "running"):
        return None
    hub, user, server = hub or hub_client(), workspace.owner.get_username(), workspace.server_name
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
            if event.failed:  # the spawner reports why before the hub gives up; its word is the reason
                workspace.refresh_from_db(fields=["failure_reason"])
                return _observe_settled(workspace, Observed.FAILED, failure=workspace.failure_reason or Failure.SPAWN_ERROR,
                                        message=_reported_reason(workspace, fallback=event.message))
            _observe(workspace, Observed.STARTING, progress=max(10, min(event.progress, 99)),
                     message=event.message or "Starting…")
        return _starting_poll_delay(workspace)
    # No server at the hub.
    if workspace.observed_state in (Observed.STARTING, Observed.RUNNING) and workspace.served_generation == workspace.generation:
        return _reconcile_gone(workspace, hub, user, server)
    if _spawn_timed_out(workspace):
        return _observe_settled(workspace, Observed.FAILED, failure=Failure.TIMEOUT,
                                message=f"The server did not come up within {settings.PLATFORM_SPAWN_TIMEOUT} seconds.")
    if not state.user_exists:  # one hub call less for every start after a person's first
        hub.ensure_user(user)
    hub.start_server(user, server)
    _observe(workspace, Observed.STARTING, kind=Kind.SPAWN_REQUESTED, progress=5, message="Asking the hub to start the server…",
             served_generation=workspace.generation)
    return 1


def _reconcile_stopped(workspace, hub, user, server, state):
    if state.exists:
        hub.stop_server(user, server, remove=workspace.desired_state == Desired.DELETED)
        if workspace.observed_state != Observed.STOPPING:
            _observe(workspace, Observed.STOPPING, message=stopping_message(workspace))
        return 1
    if workspace.desired_state == Desired.DELETED:
        hub.stop_server(user, server, remove=True)  # forget the named server at the hub too
    return _observe_settled(workspace, Observed.STOPPED, progress=0, message=stopped_message(workspace))


def _starting_poll_delay(workspace):
    """Seconds until the next look at a spawn in progress: every second at first (most servers are up
    in a few), then less often, because every look costs the hub (which spawns everything) two requests."""
    started = workspace.start_requested or workspace.created
    return 1 if timezone.now() - started < timedelta(seconds=10) else 3


def _reported_reason(workspace, fallback=None):
    """What the spawner said about this run's end (its report is an event; the status message may have been
    overwritten since by a progress message that was already on its way)."""
    said = (workspace.events.filter(kind__in=[Kind.SPAWN_REFUSED, Kind.SERVER_EXITED],
                                    created__gte=workspace.start_requested or workspace.created)
            .order_by("-created", "-id").first())
    return said.message if said else (fallback or workspace.status_message)


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
        retries = workspace.events.filter(kind=Kind.SPAWN_RETRIED, created__gte=workspace.start_requested or workspace.created).count()
        if retries < SPAWN_RETRIES and not _spawn_timed_out(workspace):
            hub.ensure_user(user)
            hub.start_server(user, server)
            _observe(workspace, Observed.STARTING, kind=Kind.SPAWN_RETRIED, progress=5,
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


def workspace_reconcile_all(*, hub=None):
    """Janitor: queue a reconcile for every workspace that is not settled, notice servers that died, and
    stop the workspaces of deactivated accounts."""
    from workspaces.tasks import workspace_reconcile_task  # the tasks module imports this one

    for workspace in Workspace.objects.filter(desired_state=Desired.RUNNING, owner__is_active=False):
        workspace_request_stop(workspace=workspace, actor=None, reason="its owner's account was deactivated")

    unsettled = [pk for pk, desired, observed in Workspace.objects.values_list("pk", "desired_state", "observed_state")
                 .exclude(desired_state=Desired.DELETED, observed_state__in=[Observed.STOPPED, Observed.NONE, Observed.FAILED])
                 if not is_settled(desired, observed)]
    running = list(Workspace.objects.filter(desired_state=Desired.RUNNING, observed_state=Observed.RUNNING)
                   .select_related("owner"))
    if running:
        try:
            servers = (hub or hub_client()).running_servers()
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
