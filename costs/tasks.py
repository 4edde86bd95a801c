import logging

from celery import shared_task
from django.conf import settings

from costs.alerts import (
    WebhookFailed, alert_deliver, budget_enforce, budget_stop_mail, budgets_check, project_alert_deliver, webhook_send,
)
from costs.models import Budget
from costs.metering import metering_run

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def costs_meter_task():
    """Beat: bring the ledger up to now, then fire due alerts and apply budget actions. Idempotent."""
    added = metering_run()
    fired = budgets_check()
    return {"records": added, "alerts": fired}


@shared_task(ignore_result=True)
def costs_alert_deliver_task(alert_id):
    """Mail an alert once and queue its webhooks. Safe to run twice."""
    alert_deliver(alert_id=alert_id)


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=30, retry_backoff_max=900, max_retries=8)
def costs_project_alert_deliver_task(alert_id):
    """Mail a project budget alert once, retried while the mail server is away. Safe to run twice."""
    if isinstance(alert_id, int):
        project_alert_deliver(alert_id=alert_id)


@shared_task(ignore_result=True)
def costs_budget_enforce_task(team_id):
    """Apply a budget or grant change to the team's pending stop at once (the beat pass would, a minute
    later). Idempotent."""
    budget = Budget.objects.filter(team_id=team_id).first()
    if budget is not None:
        budget_enforce(budget=budget)


@shared_task(bind=True, ignore_result=True, max_retries=5)
def costs_budget_stop_mail_task(self, team_id, warned_at):
    """E-mail owners about an announced budget stop, once; retried if the mail server is away."""
    from django.utils.dateparse import parse_datetime

    try:
        budget_stop_mail(team_id=team_id, warned_at=parse_datetime(warned_at))
    except OSError as exc:
        raise self.retry(exc=exc, countdown=60) from None


@shared_task(bind=True, ignore_result=True, max_retries=8)
def costs_webhook_task(self, alert_id, url):
    """POST one signed alert; retried with exponential backoff (PLATFORM_COSTS_WEBHOOK_BACKOFF × 2^n s)."""
    import requests

    try:
        webhook_send(alert_id=alert_id, url=url)
    except (requests.RequestException, WebhookFailed) as exc:
        logger.warning("Budget webhook %s for alert %s failed (attempt %s): %s", url, alert_id, self.request.retries + 1, exc)
        raise self.retry(exc=exc, countdown=settings.PLATFORM_COSTS_WEBHOOK_BACKOFF * 2**self.request.retries) from None
