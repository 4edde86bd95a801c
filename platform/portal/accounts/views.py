"""Web pages for the account, tokens, teams and the admin area. Thin: rules live in services."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.accounts import selectors, services
from portal.accounts.forms import (
    MembershipAddForm, MembershipRoleForm, ProfileForm, RateLimitedPasswordChangeForm, TeamForm, TokenCreateForm,
    UserCreateForm,
)
from portal.accounts.mail import QueuedPasswordResetForm
from portal.audit.selectors import audit_event_list
from portal.audit.services import audit_record
from portal.ratelimit import RateLimited, client_address, identity_key, limits_take
from portal.web.helpers import form_add_errors, platform_admin_required

# --- Settings: profile and tokens ---------------------------------------------

@login_required
def settings_profile(request):
    user = get_user_model().objects.get(pk=request.user.pk)  # the form changes its instance before we check
    form = ProfileForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_email_change(user=request.user, email=form.cleaned_data["email"],
                                       current_password=form.cleaned_data["current_password"], request=request)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            request.user.first_name = form.cleaned_data["first_name"]
            request.user.last_name = form.cleaned_data["last_name"]
            request.user.save(update_fields=["first_name", "last_name"])
            messages.success(request, "Your profile was saved.")
            return redirect("settings_profile")
    return render(request, "accounts/settings_profile.html", {"form": form, "section": "settings"})


@login_required
def token_list(request):
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = services.token_create(user=request.user, name=form.cleaned_data["name"],
                                               days=form.cleaned_data["expires_in_days"], scope=form.cleaned_data["scope"],
                                               request=request)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            # Shown once on the next page, then gone from the session.
            request.session["new_token"] = {"id": token.id, "secret": raw}
            messages.success(request, f"Token “{token.name}” created. Copy it now: it will not be shown again.")
            return redirect("token_list")
    new_token = request.session.pop("new_token", None)
    tokens = request.user.access_tokens.all()
    return render(request, "accounts/token_list.html",
                  {"form": form, "tokens": tokens, "new_token": new_token, "section": "settings"})


@login_required
@require_POST
def token_revoke(request, token_id):
    token = get_object_or_404(request.user.access_tokens, pk=token_id)
    services.token_revoke(token=token, actor=request.user, request=request)
    messages.success(request, f"Token “{token.name}” was revoked.")
    return redirect("token_list")


# --- Teams --------------------------------------------------------------------

@login_required
def team_list(request):
    teams = selectors.team_list_for(user=request.user)
    return render(request, "accounts/team_list.html", {"teams": teams, "section": "teams"})


def _team_for(request, slug):
    team = selectors.team_list_for(user=request.user).filter(slug=slug).first()
    if team is None:
        raise Http404("No such team.")
    return team


@login_required
def team_detail(request, slug):
    team = _team_for(request, slug)
    can_manage = selectors.team_can_manage(user=request.user, team=team)
    add_form = MembershipAddForm(request.POST or None, prefix="add")
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if add_form.is_valid():
            user = get_user_model().objects.filter(username=add_form.cleaned_data["username"]).first()
            try:
                if user is None:
                    raise ValidationError({"username": f"No user named {add_form.cleaned_data['username']!r}."})
                services.membership_add(team=team, user=user, role=add_form.cleaned_data["role"], actor=request.user, request=request)
            except ValidationError as exc:
                form_add_errors(add_form, exc)
            else:
                messages.success(request, f"{user.username} joined {team.name}.")
                return redirect("team_detail", slug=team.slug)
    return render(request, "accounts/team_detail.html", {
        "team": team, "memberships": selectors.team_membership_list(team=team), "can_manage": can_manage,
        "add_form": add_form, "roles": MembershipRoleForm.base_fields["role"].choices, "section": "teams",
    })


def _membership_for_change(request, slug, username):
    team = _team_for(request, slug)
    membership = get_object_or_404(selectors.team_membership_list(team=team), user__username=username)
    return team, membership


@login_required
@require_POST
def membership_role(request, slug, username):
    team, membership = _membership_for_change(request, slug, username)
    if not selectors.team_can_manage(user=request.user, team=team):
        raise PermissionDenied
    form = MembershipRoleForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError({"role": "Choose a valid role."})
        services.membership_set_role(membership=membership, role=form.cleaned_data["role"], actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(sum(exc.message_dict.values(), [])))
    else:
        messages.success(request, f"{username} is now {membership.get_role_display().lower()} of {team.name}.")
    return redirect("team_detail", slug=team.slug)


@login_required
@require_POST
def membership_remove(request, slug, username):
    team, membership = _membership_for_change(request, slug, username)
    leaving = membership.user_id == request.user.pk
    if not leaving and not selectors.team_can_manage(user=request.user, team=team):
        raise PermissionDenied
    try:
        services.membership_remove(membership=membership, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(sum(exc.message_dict.values(), [])))
        return redirect("team_detail", slug=team.slug)
    if leaving:
        messages.success(request, f"You left {team.name}.")
        return redirect("team_list")
    messages.success(request, f"{username} was removed from {team.name}.")
    return redirect("team_detail", slug=team.slug)


# --- Admin area ---------------------------------------------------------------

@platform_admin_required
def manage_home(request):
    return render(request, "accounts/manage_home.html", {"section": "manage"})


@platform_admin_required
def manage_users(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(**form.cleaned_data, actor=request.user, request=request)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            how = "They can sign in now." if form.cleaned_data["password"] else f"An invitation was sent to {user.email}."
            messages.success(request, f"User {user.username} was created. {how}")
            return redirect("manage_users")
    page = Paginator(selectors.user_list(search=request.GET.get("q")), 50).get_page(request.GET.get("page"))
    return render(request, "accounts/manage_users.html", {"form": form, "page": page, "q": request.GET.get("q", ""), "section": "manage"})


@platform_admin_required
@require_POST
def manage_user_active(request, user_id):
    person = get_object_or_404(get_user_model(), pk=user_id)
    active = request.POST.get("active") == "true"
    try:
        services.user_set_active(user=person, active=active, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(sum(exc.message_dict.values(), [])))
    else:
        messages.success(request, f"{person.username} was {'reactivated' if active else 'deactivated: their tokens and sessions ended'}.")
    return redirect("manage_users")


@platform_admin_required
def manage_teams(request):
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(**form.cleaned_data, actor=request.user, request=request)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, f"Team {team.name} was created. Add its members below.")
            return redirect("team_detail", slug=team.slug)
    return render(request, "accounts/manage_teams.html",
                  {"form": form, "teams": selectors.team_list_for(user=request.user), "section": "manage"})


@platform_admin_required
@require_POST
def manage_team_delete(request, slug):
    team = _team_for(request, slug)
    if request.POST.get("confirm") != team.slug:
        messages.error(request, f"Type the team's slug “{team.slug}” to confirm deleting it.")
        return redirect("team_detail", slug=team.slug)
    try:
        services.team_delete(team=team, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("team_detail", slug=team.slug)
    messages.success(request, f"Team {team.name} was deleted.")
    return redirect("manage_teams")


@platform_admin_required
def manage_audit(request):
    events = audit_event_list(action=request.GET.get("action"), actor=request.GET.get("actor"))
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "accounts/manage_audit.html", {
        "page": page, "action": request.GET.get("action", ""), "actor": request.GET.get("actor", ""), "section": "manage",
    })


# --- Sign-in and passwords ----------------------------------------------------

class PlatformLoginView(auth_views.LoginView):
    """Django's login page; past PLATFORM_LOGIN_RATE it answers 429 and says when to try again."""

    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except RateLimited as exc:
            form = self.get_form_class()(request, initial={"username": request.POST.get("username", "")})
            response = self.render_to_response(self.get_context_data(form=form, retry_after=exc.retry_after), status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response


class AuditedPasswordChangeView(auth_views.PasswordChangeView):
    form_class = RateLimitedPasswordChangeForm

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            audit_record(action="auth.password_changed", actor=self.request.user, request=self.request, target=self.request.user)
        messages.success(self.request, "Your password was changed.")
        return response


class AuditedPasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    post_reset_login = False

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            audit_record(action="auth.password_reset", actor=self.user, request=self.request, target=self.user)
        return response


class AuditedPasswordResetView(auth_views.PasswordResetView):
    form_class = QueuedPasswordResetForm

    @property
    def extra_email_context(self):
        return {"platform_name": settings.PLATFORM_SITE_NAME}

    def form_valid(self, form):
        # Every request counts, per client and per address: each one mails someone.
        email = form.cleaned_data["email"]
        limits_take(scope="password-reset", keys=[f"address:{client_address(self.request)}", f"email:{identity_key(email)}"])
        audit_record(action="auth.password_reset_requested", request=self.request, data={"email": email[:254]})
        return super().form_valid(form)
