"""Audit Django's own authentication events (they have no service of ours to hook into)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from portal.audit.services import audit_record


@receiver(user_logged_in)
def _audit_login(sender, request, user, **kwargs):
    method = getattr(request, "login_method", "password") if request is not None else "password"
    audit_record(action="auth.login", actor=user, request=request, target=user, data={"method": method})


@receiver(user_logged_out)
def _audit_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_record(action="auth.logout", actor=user, request=request, target=user)


@receiver(user_login_failed)
def _audit_login_failed(sender, credentials, request=None, **kwargs):
    # Never store the attempted password: the credentials dict is already
    # cleansed by Django, but only the username is worth keeping anyway.
    audit_record(action="auth.login_failed", request=request, data={"username": str(credentials.get("username", ""))[:150]})
