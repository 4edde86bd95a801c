"""Budget alerts and the actions at 100 %: thresholds fire once per period (a unique row), mail and
webhooks go out after commit from Celery tasks, and ``stop_workspaces`` warns the owners of the
team's running workspaces and stops them once the grace period has passed (homes are kept).

The stop follows the budget's current state (costs/enforcement.py and the ``BudgetStop`` row), not
the alerts: alerts say what happened once per period, the state says what is due now."""

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from costs import enforcement
from costs.currencies import format_money
from costs.models import Budget, BudgetAlert, BudgetStop, ProjectBudget, ProjectBudgetAlert
from costs.services import ACTIVE, budget_status, project_budget_status
from portal.accounts.models import Membership
from workspaces.models import Workspace, WorkspaceEvent
from workspaces.services import workspace_request_stop

logger = logging.getLogger(__name__)


def budgets_check(*, now=None):
    """Fire the alerts that are due and apply the stop action for every budget. Idempotent."""
    now = now or timezone.now()
    fired = 0
    for budget in Budget.objects.select_related("team"):
        fired += budget_check(budget=budget, now=now)
    for project_budget in ProjectBudget.objects.select_related("project__team"):
        fired += project_budget_check(budget=project_budget, now=now)
    return fired


def project_budget_check(*, budget, now=None):
    """Fire the thresholds of a project's budget reached this period, each once (a unique row); the mail
    goes out after commit. Idempotent; returns how many fired. (A project budget refuses launches at
    100 % by itself, in the launch check: nothing here stops anything.)"""
    now = now or timezone.now()
    status = project_budget_status(budget, now)
    done = set(ProjectBudgetAlert.objects.filter(project_id=budget.project_id, period_start=status["period_start"])
               .values_list("threshold", flat=True))
    fired = 0
    for threshold in sorted(set(budget.thresholds) | {100}):
        if threshold in done or not _reached(status["spent"], status["limit"], threshold):
            continue
        try:
            with transaction.atomic():
                alert = ProjectBudgetAlert.objects.create(project=budget.project, period_start=status["period_start"],
                                                          threshold=threshold, spent=status["spent"],
                                                          limit=status["limit"], fired_at=now)
                from costs.tasks import costs_project_alert_deliver_task

                costs_project_alert_deliver_task.delay_on_commit(alert.pk)
        except IntegrityError:
            continue  # another pass fired it
        fired += 1
    return fired


def _fire(budget, status, *, kind, threshold, now, stop_after=None):
    if not (kind == BudgetAlert.Kind.ACTUAL and threshold == 100):
        stop_after = None  # only the 100 % alert announces the stop
    try:
        with transaction.atomic():
            alert = BudgetAlert.objects.create(
                team=budget.team, period_start=status["period_start"], kind=kind, threshold=threshold, spent=status["spent"],
                forecast=status["forecast"], limit=status["limit"], fired_at=now, stop_after=stop_after)
            from costs.tasks import costs_alert_deliver_task

            costs_alert_deliver_task.delay_on_commit(alert.pk)
    except IntegrityError:
        return 0  # fired already this period (another pass won the race)
    return 1


def _reached(amount, limit, threshold):
    return amount * 100 >= threshold * limit and (limit > 0 or amount > 0)


def budget_check(*, budget, now=None):
    """Enforce the action at 100 % (``budget_enforce``), then fire the alerts that are due. Idempotent.
    Returns how many alerts fired."""
    now = now or timezone.now()
    stop = budget_enforce(budget=budget, now=now)
    status = budget_status(budget, now)
    done = set(BudgetAlert.objects.filter(team=budget.team, period_start=status["period_start"]).values_list("kind", "threshold"))
    thresholds = set(budget.thresholds)
    if budget.action != Budget.Action.NOTIFY:
        thresholds.add(100)  # the action at 100 % needs its alert, listed or not
    fired = 0
    for threshold in sorted(thresholds):
        if (BudgetAlert.Kind.ACTUAL, threshold) not in done and _reached(status["spent"], status["limit"], threshold):
            fired += _fire(budget, status, kind=BudgetAlert.Kind.ACTUAL, threshold=threshold, now=now,
                           stop_after=stop.stop_after if stop else None)
    if (BudgetAlert.Kind.FORECAST, 100) not in done and _reached(status["forecast"], status["limit"], 100):
        fired += _fire(budget, status, kind=BudgetAlert.Kind.FORECAST, threshold=100, now=now)
    return fired


# --- The stop_workspaces action -------------------------------------------------

STOP_REASON = "The team's budget is used up; stopped after the grace period. Files in your home are kept."


def budget_enforce(*, budget, now=None):
    """Bring the team's pending stop in line with its budget's state now: announce it (owners warned,
    the grace starts), carry it out once the grace is over, or cancel it. Idempotent; returns the
    pending ``BudgetStop`` or None.

    The decision is taken under the budget row's lock (the one launches take), so it sees the action
    and grants as committed. Workspace events and stops come after that commit: a start holds its
    workspace's row and then waits for the budget row, so touching workspaces under the budget lock
    could deadlock with it."""
    now = now or timezone.now()
    with transaction.atomic():
        budget = Budget.objects.select_for_update().select_related("team").filter(pk=budget.pk).first()
        if budget is None:
            return None
        status = budget_status(budget, now)
        stop = BudgetStop.objects.filter(team_id=budget.team_id).first()
        decision = enforcement.decide(
            stops_workspaces=budget.action == Budget.Action.STOP_WORKSPACES,
            over=_reached(status["spent"], status["limit"], 100), stop_after=stop.stop_after if stop else None,
            grace=timedelta(minutes=budget.grace_minutes), now=now)
        # With no grace (0 minutes) the warning and the stop come in the same pass.
        carry_out = decision.action == enforcement.STOP or (
            decision.action == enforcement.WARN and decision.stop_after <= now)
        if decision.action == enforcement.WARN:
            stop = BudgetStop.objects.create(team=budget.team, warned_at=now, stop_after=decision.stop_after)
            from costs.tasks import costs_budget_stop_mail_task

            costs_budget_stop_mail_task.delay_on_commit(budget.team_id, now.isoformat())
        elif decision.action == enforcement.CANCEL:
            stop.delete()
            stop = None
        if carry_out and stop.stopped_at is None:
            BudgetStop.objects.filter(pk=stop.pk).update(stopped_at=now)
    if decision.action == enforcement.WARN:
        _record_on_workspaces(budget.team, WorkspaceEvent.Kind.BUDGET_WARNING, _warning_text(stop), stop_after=stop.stop_after.isoformat())
    elif decision.action == enforcement.CANCEL:
        _record_on_workspaces(budget.team, WorkspaceEvent.Kind.BUDGET_WARNING_CLEARED,
                              "The budget stop is cancelled: the team is within its budget or no longer stops workspaces.")
    if carry_out:
        # Every pass stops what runs while the team stays over: a workspace started meanwhile (by a
        # platform admin, or before the action changed) is not left running.
        for workspace in Workspace.objects.filter(ACTIVE, team=budget.team):
            workspace_request_stop(workspace=workspace, actor=None, reason=STOP_REASON)
    return stop


def _warning_text(stop):
    return (f"The team's budget is used up: this workspace stops at {stop.stop_after:%Y-%m-%d %H:%M} UTC "
            "unless the budget is raised. Files in your home are kept.")


def _record_on_workspaces(team, kind, message, **data):
    WorkspaceEvent.objects.bulk_create([WorkspaceEvent(workspace=workspace, kind=kind, message=message, data=data)
                                        for workspace in Workspace.objects.filter(ACTIVE, team=team)])


def budget_stop_for(*, team_id):
    """The pending (or carried out) budget stop of a team, or None: what banners show."""
    return BudgetStop.objects.filter(team_id=team_id).first()


def budget_stops_by_team():
    """Every team's budget stop, by team id, in one query (few teams are over budget at a time)."""
    return {stop.team_id: stop for stop in BudgetStop.objects.all()}


def budget_stop_mail(*, team_id, warned_at):
    """E-mail each owner of a running workspace of the team about the announced stop, once per
    announcement: the mark is set before sending and taken back if sending fails (so a retry sends
    it, a repeat does not). Nothing goes out once the stop was cancelled."""
    marked = BudgetStop.objects.filter(team_id=team_id, warned_at=warned_at, mailed_at__isnull=True).update(
        mailed_at=timezone.now())
    if not marked:
        return 0
    stop = BudgetStop.objects.get(team_id=team_id)
    workspaces = Workspace.objects.filter(ACTIVE, team_id=team_id).select_related("owner")
    messages = [(f"[{settings.PLATFORM_SITE_NAME}] Workspace {workspace.name} will be stopped", f"{_warning_text(stop)}\n",
                 None, [workspace.owner.email]) for workspace in workspaces if workspace.owner.email]
    try:
        return send_mass_mail(messages)
    except OSError:
        BudgetStop.objects.filter(team_id=team_id, warned_at=warned_at).update(mailed_at=None)
        raise


# --- Delivery (called from tasks) ---------------------------------------------

def _alert_text(alert):
    team, currency = alert.team, settings.PLATFORM_CURRENCY
    if alert.kind == BudgetAlert.Kind.FORECAST:
        subject = f"{team.name} is forecast to exceed its budget this period"
        line = (f"At the current pace {team.name} will spend about {format_money(alert.forecast, currency)} by the end "
                f"of the period, over its budget of {format_money(alert.limit, currency)}.")
    else:
        subject = f"{team.name} has used {alert.threshold} % of its budget"
        line = (f"{team.name} has spent {format_money(alert.spent, currency)} of its {format_money(alert.limit, currency)} "
                f"budget for the period that began {alert.period_start:%Y-%m-%d %H:%M} UTC.")
    action = ""
    if alert.stop_after is not None:
        action = f"\n\nRunning workspaces of the team stop at {alert.stop_after:%Y-%m-%d %H:%M} UTC unless the budget is raised."
    elif alert.threshold == 100 and alert.kind == BudgetAlert.Kind.ACTUAL:
        action = "\n\nNew launches may be refused until the next period or a budget increase."
    return f"[{settings.PLATFORM_SITE_NAME}] {subject}", f"{line}{action}\n\n{settings.PLATFORM_PUBLIC_URL}/costs/teams/{team.pk}/\n"


def alert_recipients(team):
    User = get_user_model()
    admins = User.objects.filter(is_active=True).filter(
        Q(is_staff=True) | Q(is_superuser=True) | Q(memberships__team=team, memberships__role=Membership.Role.ADMIN))
    return sorted({email for email in admins.values_list("email", flat=True) if email})


def alert_deliver(*, alert_id):
    """Mail the alert (once) and queue one webhook delivery per configured URL. (Owners of running
    workspaces hear of a budget stop from ``budget_stop_mail``, whatever alerts fired.)"""
    alert = BudgetAlert.objects.select_related("team").filter(pk=alert_id).first()
    if alert is None:
        return
    if alert.mailed_at is None:
        subject, body = _alert_text(alert)
        # One message per person: team admins need not learn every platform admin's address.
        send_mass_mail([(subject, body, None, [recipient]) for recipient in alert_recipients(alert.team)])
        BudgetAlert.objects.filter(pk=alert.pk, mailed_at__isnull=True).update(mailed_at=timezone.now())
        from costs.tasks import costs_webhook_task

        for url in settings.PLATFORM_COSTS_WEBHOOK_URLS:
            costs_webhook_task.delay(alert.pk, url)


def webhook_payload(alert):
    team = alert.team
    return {"id": alert.pk, "event": f"budget.{alert.kind}", "threshold": alert.threshold,
            "team": {"id": team.pk, "slug": team.slug, "name": team.name},
            "period_start": alert.period_start.isoformat(), "spent": alert.spent, "limit": alert.limit,
            "forecast": alert.forecast, "currency": settings.PLATFORM_CURRENCY, "fired_at": alert.fired_at.isoformat(),
            "stop_after": alert.stop_after.isoformat() if alert.stop_after else None}


def webhook_signature(secret, timestamp, body):
    """HMAC-SHA256 over "<timestamp>.<body>", hex: receivers recompute it with the shared secret."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


class WebhookFailed(Exception):
    pass


def webhook_send(*, alert_id, url):
    """POST the signed alert to ``url`` if it is configured. Raises WebhookFailed (or a requests error) to be retried."""
    import requests

    if url not in settings.PLATFORM_COSTS_WEBHOOK_URLS:
        logger.warning("Not sending a budget webhook to %s: not in PLATFORM_COSTS_WEBHOOK_URLS", url)
        return
    alert = BudgetAlert.objects.select_related("team").filter(pk=alert_id).first()
    if alert is None:
        return
    body = json.dumps(webhook_payload(alert), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Platform-Timestamp": timestamp,
               "X-Platform-Signature": "sha256=" + webhook_signature(settings.PLATFORM_COSTS_WEBHOOK_SECRET, timestamp, body),
               "X-Platform-Delivery": str(alert.pk)}
    response = requests.post(url, data=body, headers=headers, timeout=10, allow_redirects=False)
    if not 200 <= response.status_code < 300:
        raise WebhookFailed(f"{url} answered {response.status_code}")


def project_alert_recipients(project):
    """The project's owners, the team's admins and the platform admins (their addresses)."""
    User = get_user_model()
    people = User.objects.filter(is_active=True).filter(
        Q(owned_projects=project) | Q(is_staff=True) | Q(is_superuser=True)
        | Q(memberships__team_id=project.team_id, memberships__role=Membership.Role.ADMIN))
    return sorted({email for email in people.values_list("email", flat=True) if email})


def project_alert_deliver(*, alert_id):
    """Mail a project budget alert, once."""
    alert = ProjectBudgetAlert.objects.select_related("project__team").filter(pk=alert_id, mailed_at__isnull=True).first()
    if alert is None:
        return
    project, currency = alert.project, settings.PLATFORM_CURRENCY
    subject = f"[{settings.PLATFORM_SITE_NAME}] Project {project.name} has used {alert.threshold} % of its budget"
    body = (f"Project {project.name} ({project.team.name}) has spent {format_money(alert.spent, currency)} of its "
            f"{format_money(alert.limit, currency)} budget for the period that began {alert.period_start:%Y-%m-%d %H:%M} UTC."
            + ("\n\nNew launches in the project are refused until the next period or a bigger project budget."
               if alert.threshold >= 100 else "")
            + f"\n\n{settings.PLATFORM_PUBLIC_URL}/costs/projects/{project.pk}/\n")
    send_mass_mail([(subject, body, None, [recipient]) for recipient in project_alert_recipients(project)])
    ProjectBudgetAlert.objects.filter(pk=alert.pk, mailed_at__isnull=True).update(mailed_at=timezone.now())
