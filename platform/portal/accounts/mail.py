"""E-mails about accounts. Rendering happens in the request; sending in a Celery task."""

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.template import loader
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from portal.accounts.tasks import email_send_task


def _enqueue(*, subject, body, to):
    email_send_task.delay_on_commit(subject=" ".join(subject.splitlines()), body=body, to=[to])


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's reset form, with the mail sent by the worker instead of the web request."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None):
        subject = loader.render_to_string(subject_template_name, context)
        body = loader.render_to_string(email_template_name, context)
        _enqueue(subject=subject, body=body, to=to_email)


def send_invitation(*, user, request=None):
    """E-mail a new user a link to choose their password (the password-reset flow)."""
    path = reverse("password_reset_confirm", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
    })
    link = request.build_absolute_uri(path) if request is not None else path
    context = {"user": user, "link": link, "site_name": settings.PLATFORM_SITE_NAME}
    _enqueue(
        subject=loader.render_to_string("accounts/email/invitation_subject.txt", context),
        body=loader.render_to_string("accounts/email/invitation_body.txt", context),
        to=user.email,
    )
