import logging

from celery import shared_task
from django.conf import settings

from costs.alerts import WebhookFailed, alert_deliver, budgets_check, webhook_send
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


@shared_task(bind=True, ignore_result=True, max_retries=8)
def costs_webhook_task(self, alert_id, url):
    """POST one signed alert; retried with exponential backoff (PLATFORM_COSTS_WEBHOOK_BACKOFF × 2^n s)."""
    import requests

    try:
        webhook_send(alert_id=alert_id, url=url)
    except (requests.RequestException, WebhookFailed) as exc:
        logger.warning("Budget webhook %s for alert %s failed (attempt %s): %s", url, alert_id, self.request.retries + 1, exc)
        raise self.retry(exc=exc, countdown=settings.PLATFORM_COSTS_WEBHOOK_BACKOFF * 2**self.request.retries) from None
