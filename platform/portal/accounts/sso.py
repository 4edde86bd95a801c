"""Optional single sign-on against an external OpenID Connect provider.

The provider is found by discovery (``{issuer}/.well-known/openid-configuration``);
Authlib checks state, nonce and the ID token's signature. Users are matched by
(issuer, subject), never by e-mail, so an account at the provider cannot take
over a local account that happens to share an address.
"""

import functools
import logging

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.django_client import OAuth
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from requests import RequestException

from portal.accounts.models import ExternalIdentity
from portal.audit.services import audit_record

logger = logging.getLogger(__name__)


class SsoError(Exception):
    """A login that cannot go on; the message is shown to the person."""


def sso_enabled():
    return bool(settings.PLATFORM_OIDC_ISSUER)


@functools.lru_cache(maxsize=4)
def _client(issuer, client_id, client_secret, scopes):
    oauth = OAuth()
    return oauth.register(
        "sso",
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": scopes},
    )


def sso_client():
    return _client(settings.PLATFORM_OIDC_ISSUER, settings.PLATFORM_OIDC_CLIENT_ID,
                   settings.PLATFORM_OIDC_CLIENT_SECRET, settings.PLATFORM_OIDC_SCOPES)


def _username_from_claims(claims):
    username = claims.get(settings.PLATFORM_OIDC_USERNAME_CLAIM) or ""
    if not username and claims.get("email"):
        username = claims["email"].split("@", 1)[0]
    return str(username or claims["sub"])[:150]


def sso_user_for_claims(*, issuer, claims, request=None):
    """The user for verified ID-token claims: linked before, or created now if allowed."""
    subject = str(claims.get("sub") or "")
    if not subject:
        raise SsoError("The identity provider sent no subject.")
    User = get_user_model()
    with transaction.atomic():
        identity = ExternalIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
        if identity is not None:
            ExternalIdentity.objects.filter(pk=identity.pk).update(last_login=timezone.now())
            if not identity.user.is_active:
                raise SsoError("Your account is deactivated. Ask a platform admin.")
            return identity.user
        if not settings.PLATFORM_OIDC_CREATE_USERS:
            raise SsoError("No account is linked to your single sign-on identity. Ask a platform admin to create one.")
        username = _username_from_claims(claims)
        if User.objects.filter(username__iexact=username).exists():
            raise SsoError(
                f"A local account named {username!r} exists already and is not linked to single sign-on. "
                "Sign in with your password, or ask a platform admin."
            )
        user = User(username=username, email=claims.get("email", "") or "",
                    first_name=(claims.get("given_name") or "")[:150], last_name=(claims.get("family_name") or "")[:150])
        user.set_unusable_password()
        user.save()
        ExternalIdentity.objects.create(user=user, issuer=issuer, subject=subject, last_login=timezone.now())
        audit_record(action="user.created", actor=user, request=request, target=user, data={"via": "sso", "issuer": issuer})
    return user


@require_GET
def sso_login(request):
    if not sso_enabled():
        messages.error(request, "Single sign-on is not configured.")
        return redirect("login")
    next_url = request.GET.get("next", "")
    request.session["sso_next"] = next_url if next_url.startswith("/") and not next_url.startswith("//") else ""
    try:
        return sso_client().authorize_redirect(request, request.build_absolute_uri(reverse("sso_callback")))
    except RequestException:
        logger.exception("The identity provider at %s is unreachable", settings.PLATFORM_OIDC_ISSUER)
        messages.error(request, "The identity provider cannot be reached right now. Try again in a minute.")
        return redirect("login")


@require_GET
def sso_callback(request):
    if not sso_enabled():
        return redirect("login")
    if "error" in request.GET:
        messages.error(request, f"Single sign-on was refused: {request.GET.get('error_description') or request.GET['error']}.")
        return redirect("login")
    try:
        token = sso_client().authorize_access_token(request)
        claims = token.get("userinfo") or sso_client().userinfo(token=token)
        user = sso_user_for_claims(issuer=settings.PLATFORM_OIDC_ISSUER, claims=claims, request=request)
    except SsoError as exc:
        messages.error(request, str(exc))
        return redirect("login")
    except (OAuthError, RequestException, KeyError, ValueError) as exc:
        logger.warning("Single sign-on failed: %s", exc)
        messages.error(request, "Single sign-on failed. Try again; if it keeps failing, tell a platform admin.")
        return redirect("login")
    request.login_method = "sso"
    login(request, user, backend="portal.accounts.backends.RateLimitedModelBackend")
    return redirect(request.session.pop("sso_next", "") or settings.LOGIN_REDIRECT_URL)
