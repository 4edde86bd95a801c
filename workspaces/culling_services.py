"""Idle culling: the periodic sweep, the warning (banner and e-mail) and the one "keep running".

The sweep pages through the hub's active servers, matches them to running workspaces, checks
kernels only for servers the hub alone would warn about or stop, and acts through compare-and-set
updates, so a repeated or overlapping sweep changes nothing twice. Culled workspaces stop through
the normal desired-state path (workspace_request_stop), homes kept.
"""

import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Case, F, Q, When
from django.template import loader
from django.urls import reverse
from django.utils import timezone

from observability import metrics
from workspaces import culling
from workspaces.hub import HubError, hub_activity, hub_client, servers_activity
from workspaces.models import Workspace, WorkspaceEvent
from workspaces.services import workspace_request_stop

logger = logging.getLogger(__name__)
Desired, Observed = Workspace.Desired, Workspace.Observed
SWEEP_LOCK = "workspaces:cull-sweep"


class KeepRunningRefused(Exception):
    """Keep running is not possible now (already used for this run, nothing to postpone, not running)."""


def _run(workspace, activity):
    current = workspace.cull_generation == workspace.generation
    return culling.Run(started=workspace.started or workspace.start_requested or workspace.created,
                       last_activity=activity.last_activity, busy=activity.busy,
                       warned_at=workspace.cull_warned_at if current else None,
                       extended_until=workspace.cull_extended_until if current else None)


@dataclass
class SweepResult:
    servers: int = 0  # servers the hub listed
    matched: int = 0  # of them, running workspaces with limits
    kernel_checks: int = 0
    warned: int = 0
    culled: int = 0
    cleared: int = 0
    errors: int = 0
    hub_requests: int = 0
    skipped: bool = False  # another sweep was running
    seconds: float = 0.0
    actions: list = field(default_factory=list)  # (workspace id, action, reason)


def workspace_cull_sweep(*, now=None, hub=None, page_size=200):
    """One pass over every running server: warn, stop or clear warnings. Idempotent; safe to overlap
    (a lock skips a second concurrent sweep, and every change is a compare-and-set)."""
    started = time.monotonic()
    result = SweepResult()
    lock_seconds = max(settings.PLATFORM_CULL_SWEEP_SECONDS * 5, 300)
    if not cache.add(SWEEP_LOCK, "1", lock_seconds):
        result.skipped = True
        return result
    try:
        hub = hub or hub_client()
        _sweep(hub, now, page_size, result)
        result.hub_requests = hub.requests_made
    finally:
        cache.delete(SWEEP_LOCK)
    result.seconds = time.monotonic() - started
    if result.warned or result.culled or result.errors:
        logger.info("Culling sweep: %s", {k: v for k, v in vars(result).items() if k != "actions"})
    return result


def _sweep(hub, now, page_size, result):
    workspaces = {(w.owner.username, w.server_name): w for w in
                  Workspace.objects.filter(desired_state=Desired.RUNNING, observed_state=Observed.RUNNING)
                  .select_related("owner", "profile")}
    limits_by_profile = {}
    try:
        for page in hub.active_server_pages(page_size=page_size):
            result.servers += len(page)
            # Kernel checks for a page happen together, under the page's own clock.
            page_now = now or timezone.now()
            candidates, states = {}, {}
            for key, state in page:
                workspace = workspaces.get(key)
                if workspace is None or not state.ready or state.pending:
                    continue
                limits = limits_by_profile.setdefault(workspace.profile_id, workspace.profile.culling_limits())
                if not limits.active and workspace.cull_warned_at is None:
                    continue
                result.matched += 1
                run = _run(workspace, hub_activity(state))
                first = culling.decide(limits, run, page_now)
                candidates[key] = (workspace, limits, first)
                # Kernel activity can only move the idle deadline later: worth a look only when the hub
                # alone would warn or stop for idleness, or a warning stands that activity may take back.
                if first.kind == culling.IDLE and (first.action in (culling.WARN, culling.CULL) or run.warned_at):
                    states[key] = state
            result.kernel_checks += len(states)
            activities = servers_activity(hub, states, concurrency=settings.PLATFORM_CULL_CONCURRENCY,
                                          timeout=settings.PLATFORM_CULL_SERVER_TIMEOUT,
                                          connected_is_active=settings.PLATFORM_CULL_CONNECTED_IS_ACTIVE)
            # One commit per page (each workspace in its own savepoint): hundreds of warnings cost
            # one fsync, not hundreds. No I/O happens in here; mails and stops are queued on commit.
            with transaction.atomic():
                for key, (workspace, limits, decision) in candidates.items():
                    if key in activities:
                        result.errors += bool(activities[key].error)
                        decision = culling.decide(limits, _run(workspace, activities[key]), page_now)
                    if decision.action == culling.NONE:
                        continue
                    try:
                        with transaction.atomic():
                            _apply(workspace, decision, page_now, result)
                    except Exception:  # one workspace's trouble must not end the sweep
                        logger.exception("Culling workspace %s failed", workspace.pk)
                        result.errors += 1
    except HubError as exc:
        logger.warning("Culling sweep stopped early: %s", exc)
        result.errors += 1


def _apply(workspace, decision, now, result):
    if decision.action == culling.WARN and _warn(workspace, decision, now):
        result.warned += 1
    elif decision.action == culling.CULL and _cull(workspace, decision, now):
        result.culled += 1
    elif decision.action == culling.CLEAR and _clear(workspace):
        result.cleared += 1
    else:
        return
    result.actions.append((workspace.pk, decision.action, decision.reason))


def _warn(workspace, decision, now):
    """Record the warning once per idle spell (compare-and-set) and e-mail the owner after commit.
    Runs inside the sweep's per-workspace savepoint."""
    generation = workspace.generation
    updated = (Workspace.objects
               .filter(pk=workspace.pk, generation=generation, desired_state=Desired.RUNNING)
               .filter(~Q(cull_generation=generation) | Q(cull_warned_at__isnull=True))
               .update(cull_warned_at=now, cull_deadline=decision.deadline, cull_reason=decision.reason,
                       cull_mailed_at=None,
                       # A new run starts with its "keep running" unused.
                       cull_extended_until=Case(When(cull_generation=generation, then=F("cull_extended_until")),
                                                default=None),
                       cull_generation=generation))
    if not updated:
        return False
    WorkspaceEvent.objects.create(
        workspace=workspace, kind=WorkspaceEvent.Kind.CULL_WARNING, data={"deadline": decision.deadline.isoformat(), "kind": decision.kind},
        message=f"Will stop at {decision.deadline:%Y-%m-%d %H:%M} UTC unless used or kept running: {decision.reason}.")
    from workspaces.tasks import workspace_cull_warning_mail_task

    workspace_cull_warning_mail_task.delay_on_commit(workspace.pk, now.isoformat())
    return True


def _cull(workspace, decision, now):
    """Stop the workspace with the reason, unless its owner kept it running or restarted it meanwhile.
    Runs inside the sweep's per-workspace savepoint (the row lock lasts until the page commits)."""
    current = Workspace.objects.select_for_update().get(pk=workspace.pk)
    if (current.generation != workspace.generation or current.desired_state != Desired.RUNNING
            or current.cull_generation != workspace.generation or current.cull_warned_at != workspace.cull_warned_at
            or current.cull_warned_at is None):
        return False
    workspace_request_stop(workspace=current, actor=None, reason=decision.reason, kind=WorkspaceEvent.Kind.CULLED)
    metrics.workspace_culled(profile=workspace.profile.name)
    return True


def _clear(workspace):
    """Activity came back after a warning: the banner goes, a later idle spell warns afresh."""
    return bool(Workspace.objects.filter(pk=workspace.pk, cull_generation=workspace.generation,
                                         cull_warned_at=workspace.cull_warned_at)
                .update(cull_warned_at=None, cull_deadline=None, cull_reason="", cull_mailed_at=None))


def workspace_keep_running(*, workspace, actor, now=None):
    """Postpone a warned-about stop by PLATFORM_CULL_EXTENSION_MINUTES, once per run.

    Raises KeepRunningRefused when the workspace is not running, has no pending stop, or this
    run already used its one extension. Idempotent in effect: a repeat is refused, never doubled."""
    now = now or timezone.now()
    with transaction.atomic():
        workspace = Workspace.objects.select_for_update().select_related("profile").get(pk=workspace.pk)
        if workspace.desired_state != Desired.RUNNING or workspace.observed_state != Observed.RUNNING:
            raise KeepRunningRefused("Only a running workspace can be kept running.")
        if workspace.kept_running:
            raise KeepRunningRefused(
                "This run was already kept running once; use the workspace to keep it alive, or start it again later.")
        if workspace.cull_warning is None:
            raise KeepRunningRefused("There is no automatic stop to postpone: the workspace is not idle.")
        until = now + workspace.profile.culling_limits().extension
        Workspace.objects.filter(pk=workspace.pk).update(
            cull_generation=workspace.generation, cull_extended_until=until,
            cull_warned_at=None, cull_deadline=None, cull_reason="", cull_mailed_at=None)
        WorkspaceEvent.objects.create(workspace=workspace, kind=WorkspaceEvent.Kind.KEPT_RUNNING, actor_username=actor.get_username(),
                                      message=f"Kept running until at least {until:%Y-%m-%d %H:%M} UTC.",
                                      data={"until": until.isoformat()})
        metrics.workspace_kept_running(profile=workspace.profile.name)
    workspace.refresh_from_db()
    return workspace


def workspace_cull_warning_mail(*, workspace_id, warned_at):
    """E-mail the owner about a pending stop, once per warning: the mark is set before sending and
    taken back if sending fails (so a retry sends it, a repeat does not)."""
    workspace = Workspace.objects.select_related("owner").filter(pk=workspace_id).first()
    if workspace is None or not workspace.owner.email:
        return False
    marked = Workspace.objects.filter(pk=workspace_id, cull_warned_at=warned_at, cull_mailed_at__isnull=True,
                                      desired_state=Desired.RUNNING).update(cull_mailed_at=timezone.now())
    if not marked:
        return False  # already sent, or the warning is gone (activity, keep running, stopped)
    workspace.refresh_from_db()
    context = {"workspace": workspace, "site_name": settings.PLATFORM_SITE_NAME,
               "link": settings.PLATFORM_PUBLIC_URL + reverse("workspace_detail", args=[workspace.pk])}
    subject = " ".join(loader.render_to_string("workspaces/email/cull_warning_subject.txt", context).split())
    body = loader.render_to_string("workspaces/email/cull_warning_body.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [workspace.owner.email])
    except OSError:
        Workspace.objects.filter(pk=workspace_id, cull_warned_at=warned_at).update(cull_mailed_at=None)
        raise
    return True
