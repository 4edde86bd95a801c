"""Business rules for users, teams, memberships and access tokens.

Every change that matters for security writes its audit event in the same
transaction. Functions raise django.core.exceptions.ValidationError with the
field at fault; the API and the forms turn that into a 400 / a form error.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from celery import current_app
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.text import slugify

from portal.accounts.backends import password_attempt_keys
from portal.accounts.models import AccessToken, Membership, Team, token_digest
from portal.audit.services import audit_record
from portal.names import name_clean
from portal.ratelimit import limit_give_back, limit_take, limits_take

TOKEN_PREFIX = "dsw_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


# --- Access tokens ------------------------------------------------------------

def token_create(*, user, name, days=None, scope=AccessToken.Scope.WRITE, request=None):
    """Create a token for ``user``; returns ``(token, raw_secret)``. The secret is never stored.

    At most PLATFORM_LOGIN_RATE creations per person (raises ``RateLimited`` past it): a stolen
    session cannot mint tokens in bulk."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the token a name, e.g. the script or machine that uses it."})
    days = settings.PLATFORM_TOKEN_DEFAULT_DAYS if days is None else days
    if not 1 <= days <= settings.PLATFORM_TOKEN_MAX_DAYS:
        raise ValidationError({"expires_in_days": f"Choose between 1 and {settings.PLATFORM_TOKEN_MAX_DAYS} days."})
    if scope not in AccessToken.Scope.values:
        raise ValidationError({"scope": f"Choose one of: {', '.join(AccessToken.Scope.values)}."})
    limit_take(scope="token-create", key=f"user:{user.pk}")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = AccessToken.objects.create(
            user=user,
            name=name[:100],
            scope=scope,
            prefix=raw[: len(TOKEN_PREFIX) + 6],
            digest=token_digest(raw),
            expires=timezone.now() + timedelta(days=days),
        )
        audit_record(action="token.created", actor=user, request=request, target=token,
                     data={"expires": token.expires.isoformat(), "scope": scope})
    return token, raw


def token_revoke(*, token, actor, request=None):
    """Revoke a token. Idempotent: revoking a revoked token changes nothing."""
    with transaction.atomic():
        updated = AccessToken.objects.filter(pk=token.pk, revoked__isnull=True).update(revoked=timezone.now())
        if updated:
            audit_record(action="token.revoked", actor=actor, request=request, target=token, data={"owner": token.user.get_username()})
    token.refresh_from_db()
    return token


def token_authenticate(raw):
    """The usable token for a raw secret, or None. Marks it used (at most once a minute)."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    now = timezone.now()
    token = AccessToken.objects.usable(now).select_related("user").filter(digest=token_digest(raw)).first()
    if token is None or not token.user.is_active:
        return None
    if token.last_used is None or now - token.last_used > LAST_USED_RESOLUTION:
        AccessToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now
    return token


def token_purge_expired(*, keep_days=90):
    """Delete tokens that expired or were revoked more than ``keep_days`` ago. Idempotent."""
    cutoff = timezone.now() - timedelta(days=keep_days)
    expired = AccessToken.objects.filter(expires__lt=cutoff)
    revoked = AccessToken.objects.filter(revoked__lt=cutoff)
    count, _ = (expired | revoked).delete()
    return count


# --- Users --------------------------------------------------------------------

def user_create(*, username, email="", password=None, is_platform_admin=False, actor=None, request=None):
    """Create a local account. Without a password the user gets an e-mail to set one."""
    User = get_user_model()
    username = (username or "").strip()
    user = User(username=username, email=(email or "").strip(), is_staff=is_platform_admin)
    try:
        user.full_clean(exclude=["password"], validate_unique=False)
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None
    username = user.username  # NFKC-normalised by full_clean: ａｌｉｃｅ is alice
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": f"The username {username!r} is taken."})
    if password:
        validate_password_for(user, password, field="password")
        user.set_password(password)
    else:
        if not user.email:
            raise ValidationError({"email": "Give an e-mail address (to send the invitation) or a password."})
        user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
            audit_record(action="user.created", actor=actor, request=request, target=user, data={"platform_admin": is_platform_admin})
    except IntegrityError:  # created at the same moment, between the check above and here
        raise ValidationError({"username": f"The username {username!r} is taken."}) from None
    if not password:
        from portal.accounts.mail import send_invitation

        send_invitation(user=user, request=request)
    return user


def user_set_active(*, user, active, actor, request=None):
    """Activate or deactivate an account. Idempotent.

    Deactivation takes effect at once: the person's personal tokens are revoked, the OAuth tokens,
    refresh tokens and codes the portal issued for them (the hub's sign-in) deleted, their sessions
    ended, and their workspaces stopped (homes kept). (Authentication also refuses inactive accounts,
    whatever deactivated them.)"""
    if not active and actor is not None and actor.pk == user.pk:
        raise ValidationError({"is_active": "You cannot deactivate your own account; ask another platform admin."})
    with transaction.atomic():
        locked = get_user_model().objects.select_for_update().get(pk=user.pk)
        changed = locked.is_active != active
        if changed:
            locked.is_active = active
            locked.save(update_fields=["is_active"])
        ended = {} if active else _user_credentials_end(locked)
        if changed or any(ended.values()):
            audit_record(action="user.activated" if active else "user.deactivated", actor=actor, request=request,
                         target=locked, data=ended)
        if not active:
            # Their workspaces stop too: the janitor stops every workspace whose owner is inactive (named,
            # not imported: workspaces build on accounts, not the reverse).
            transaction.on_commit(lambda: current_app.send_task("workspaces.tasks.workspace_reconcile_all_task"))
    user.is_active = active
    return user


def _user_credentials_end(user):
    from django.contrib.sessions.models import Session
    from oauth2_provider.models import AccessToken as OAuthAccessToken
    from oauth2_provider.models import Grant, RefreshToken

    now = timezone.now()
    ended = {"tokens": AccessToken.objects.filter(user=user, revoked__isnull=True).update(revoked=now)}
    ended["oauth_tokens"] = OAuthAccessToken.objects.filter(user=user).delete()[0]
    ended["oauth_tokens"] += RefreshToken.objects.filter(user=user).delete()[0]
    ended["oauth_tokens"] += Grant.objects.filter(user=user).delete()[0]
    # Sessions are stored encoded, so they are read to find the person's: a scan of the live ones,
    # fine at the size of one organisation's platform and only on deactivation.
    mine = [session.pk for session in Session.objects.filter(expire_date__gt=now).iterator()
            if str(session.get_decoded().get("_auth_user_id")) == str(user.pk)]
    ended["sessions"] = Session.objects.filter(pk__in=mine).delete()[0]
    return ended


def user_email_change(*, user, email, current_password, request=None):
    """Change the caller's own e-mail address. Asks for the current password: the address is where
    password-reset links go, so a stolen session must not be able to redirect them.

    Password attempts count against PLATFORM_LOGIN_RATE (raises ``RateLimited``)."""
    email = get_user_model().objects.normalize_email((email or "").strip())
    if email == user.email:
        return user
    if not user.has_usable_password():
        raise ValidationError({"email": "Your account has no password (single sign-on): ask a platform admin to change your address."})
    slots = limits_take(scope="password", keys=password_attempt_keys(request, user.get_username()))
    if not user.check_password(current_password or ""):
        raise ValidationError({"current_password": "This is not your current password."})
    limit_give_back(slots)
    previous = user.email
    with transaction.atomic():
        user.email = email
        user.save(update_fields=["email"])
        audit_record(action="user.email_changed", actor=user, request=request, target=user,
                     data={"from": previous, "to": email})
    return user


def validate_password_for(user, password, *, field):
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from None


# --- Teams and memberships ----------------------------------------------------

def team_create(*, name, description="", slug=None, actor, request=None):
    name = name_clean(name, field="name", max_length=100)
    if not name:
        raise ValidationError({"name": "A team needs a name."})
    slug = slugify(slug or name)[:100]
    if not slug:
        raise ValidationError({"slug": "Use letters or digits in the name or slug."})
    if Team.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": f"A team named {name!r} exists already."})
    if Team.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"The slug {slug!r} is taken."})
    try:
        with transaction.atomic():
            team = Team.objects.create(name=name, slug=slug, description=description or "")
            audit_record(action="team.created", actor=actor, request=request, target=team)
    except IntegrityError:  # the same team created at the same moment, between the checks above and here
        raise ValidationError({"name": f"A team named {name!r} exists already."}) from None
    return team


def team_update(*, team, actor, request=None, name=None, description=None):
    changes = {}
    name = None if name is None else name_clean(name, field="name", max_length=100)
    if name is not None and name != team.name:
        if not name:
            raise ValidationError({"name": "A team needs a name."})
        if Team.objects.filter(name__iexact=name).exclude(pk=team.pk).exists():
            raise ValidationError({"name": f"A team named {name!r} exists already."})
        changes["name"] = [team.name, name]
        team.name = name
    if description is not None and description != team.description:
        changes["description"] = True
        team.description = description
    if changes:
        try:
            with transaction.atomic():
                team.save()
                audit_record(action="team.updated", actor=actor, request=request, target=team, data=changes)
        except IntegrityError:
            raise ValidationError({"name": f"A team named {name!r} exists already."}) from None
    return team


def team_delete(*, team, actor, request=None):
    """Delete a team. Refused while workspaces (live or deleted: their history and costs) or projects belong to it."""
    try:
        with transaction.atomic():
            audit_record(action="team.deleted", actor=actor, request=request, target=team,
                         data={"members": list(team.memberships.values_list("user__username", flat=True))})
            team.delete()
    except ProtectedError:
        raise ValidationError({"detail": f"{team.name} has workspaces or projects (their history and costs are kept): "
                                         "it cannot be deleted. Remove its members instead."}) from None


def _check_role(role):
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"Choose one of: {', '.join(Membership.Role.values)}."})


def membership_add(*, team, user, role=Membership.Role.MEMBER, actor, request=None):
    _check_role(role)
    if not user.is_active:
        raise ValidationError({"username": f"{user.get_username()} is deactivated."})
    try:
        with transaction.atomic():
            membership = Membership.objects.create(team=team, user=user, role=role)
            audit_record(action="membership.added", actor=actor, request=request, target=membership,
                         data={"team": team.slug, "user": user.get_username(), "role": role})
    except IntegrityError:
        raise ValidationError({"username": f"{user.get_username()} is already a member of {team.name}."}) from None
    return membership


def _ensure_another_admin(membership):
    others = Membership.objects.filter(team_id=membership.team_id, role=Membership.Role.ADMIN).exclude(pk=membership.pk)
    if membership.role == Membership.Role.ADMIN and not others.exists():
        raise ValidationError({"role": "A team needs at least one team admin: make someone else admin first."})


def membership_set_role(*, membership, role, actor, request=None):
    _check_role(role)
    if role == membership.role:
        return membership
    with transaction.atomic():
        # Lock the team's admin rows so two demotions at once cannot leave no admin.
        list(Membership.objects.select_for_update().filter(team_id=membership.team_id, role=Membership.Role.ADMIN))
        if role != Membership.Role.ADMIN:
            _ensure_another_admin(membership)
        previous = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(action="membership.role_changed", actor=actor, request=request, target=membership,
                     data={"team": membership.team.slug, "user": membership.user.get_username(), "from": previous, "to": role})
    return membership


def membership_remove(*, membership, actor, request=None):
    with transaction.atomic():
        list(Membership.objects.select_for_update().filter(team_id=membership.team_id, role=Membership.Role.ADMIN))
        _ensure_another_admin(membership)
        audit_record(action="membership.removed", actor=actor, request=request, target=membership,
                     data={"team": membership.team.slug, "user": membership.user.get_username(), "role": membership.role})
        membership.delete()
