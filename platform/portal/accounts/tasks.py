import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from portal.accounts.services import token_purge_expired

logger = logging.getLogger(__name__)


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=30, retry_backoff_max=900, max_retries=8)
def email_send_task(self, *, subject, body, to):
    """Send one plain-text e-mail; retried with backoff while the mail server is unreachable."""
    if not isinstance(to, list) or not all(isinstance(address, str) and "@" in address for address in to):
        logger.error("email_send_task: refusing malformed recipients %r", to)
        return 0
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)


@shared_task
def token_purge_expired_task():
    """Janitor: drop tokens that ended long ago. Safe to run any number of times."""
    return token_purge_expired()
