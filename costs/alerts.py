"""Budget alerts and the actions at 100 %: thresholds fire once per period (a unique row), mail and
webhooks go out after commit from Celery tasks, and ``stop_workspaces`` stops the team's workspaces
once the grace period after the warning has passed (homes are kept)."""

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail, send_mass_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from costs.currencies import format_money
from costs.models import Budget, BudgetAlert
from costs.services import ACTIVE, budget_status
from portal.accounts.models import Membership

logger = logging.getLogger(__name__)


def budgets_check(*, now=None):
    """Fire the alerts that are due and apply the stop action for every budget. Idempotent."""
    now = now or timezone.now()
    fired = 0
    for budget in Budget.objects.select_related("team"):
        fired += budget_check(budget=budget, now=now)
    return fired


def _fire(budget, status, *, kind, threshold, now):
    stop_after = None
    if kind == BudgetAlert.Kind.ACTUAL and threshold == 100 and budget.action == Budget.Action.STOP_WORKSPACES:
        stop_after = now + timedelta(minutes=budget.grace_minutes)
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
    now = now or timezone.now()
    status = budget_status(budget, now)
    done = set(BudgetAlert.objects.filter(team=budget.team, period_start=status["period_start"]).values_list("kind", "threshold"))
    thresholds = set(budget.thresholds)
    if budget.action != Budget.Action.NOTIFY:
        thresholds.add(100)  # the action at 100 % needs its alert, listed or not
    fired = 0
    for threshold in sorted(thresholds):
        if (BudgetAlert.Kind.ACTUAL, threshold) not in done and _reached(status["spent"], status["limit"], threshold):
            fired += _fire(budget, status, kind=BudgetAlert.Kind.ACTUAL, threshold=threshold, now=now)
    if (BudgetAlert.Kind.FORECAST, 100) not in done and _reached(status["forecast"], status["limit"], 100):
        fired += _fire(budget, status, kind=BudgetAlert.Kind.FORECAST, threshold=100, now=now)
    if budget.action == Budget.Action.STOP_WORKSPACES and _reached(status["spent"], status["limit"], 100):
        _stop_when_due(budget, status, now)
    return fired


def _stop_when_due(budget, status, now):
    from workspaces.models import Workspace
    from workspaces.services import workspace_request_stop

    alert = BudgetAlert.objects.filter(team=budget.team, period_start=status["period_start"], kind=BudgetAlert.Kind.ACTUAL,
                                       threshold=100).first()
    if alert is None or alert.stop_after is None or now < alert.stop_after:
        return
    for workspace in Workspace.objects.filter(ACTIVE, team=budget.team):
        workspace_request_stop(workspace=workspace, actor=None,
                               reason="The team's budget is used up; stopped after the grace period. Files in your home are kept.")


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
    """Mail the alert (once) and queue one webhook delivery per configured URL; owners of running
    workspaces get their warning when the alert announces a stop."""
    alert = BudgetAlert.objects.select_related("team").filter(pk=alert_id).first()
    if alert is None:
        return
    if alert.mailed_at is None:
        subject, body = _alert_text(alert)
        # One message per person: team admins need not learn every platform admin's address.
        send_mass_mail([(subject, body, None, [recipient]) for recipient in alert_recipients(alert.team)])
        if alert.stop_after is not None:
            _warn_owners(alert)
        BudgetAlert.objects.filter(pk=alert.pk, mailed_at__isnull=True).update(mailed_at=timezone.now())
        from costs.tasks import costs_webhook_task

        for url in settings.PLATFORM_COSTS_WEBHOOK_URLS:
            costs_webhook_task.delay(alert.pk, url)


def _warn_owners(alert):
    from workspaces.models import Workspace, WorkspaceEvent

    workspaces = list(Workspace.objects.filter(ACTIVE, team=alert.team).select_related("owner"))
    message = (f"The team's budget is used up: this workspace stops at {alert.stop_after:%Y-%m-%d %H:%M} UTC "
               "unless the budget is raised. Files in your home are kept.")
    for workspace in workspaces:
        WorkspaceEvent.objects.create(workspace=workspace, kind="budget_warning", message=message,
                                      data={"stop_after": alert.stop_after.isoformat()})
        if workspace.owner.email:
            send_mail(f"[{settings.PLATFORM_SITE_NAME}] Workspace {workspace.name} will be stopped", f"{message}\n",
                      None, [workspace.owner.email])


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
