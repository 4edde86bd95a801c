from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordChangeForm

from portal.accounts.backends import password_attempt_keys
from portal.accounts.models import AccessToken, Membership
from portal.ratelimit import limit_give_back, limits_take


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “training pipeline on build-01”.")
    expires_in_days = forms.TypedChoiceField(
        label="Expires in", coerce=int, initial=30,
        choices=[(7, "7 days"), (30, "30 days"), (90, "90 days"), (365, "1 year")],
    )
    scope = forms.ChoiceField(label="Access", choices=AccessToken.Scope.choices, initial=AccessToken.Scope.WRITE,
                              required=False, help_text="Read only: it can look but not change anything (GET requests, image pulls).")

    def clean_scope(self):
        return self.cleaned_data["scope"] or AccessToken.Scope.WRITE

    def clean_expires_in_days(self):
        days = self.cleaned_data["expires_in_days"]
        if days > settings.PLATFORM_TOKEN_MAX_DAYS:
            raise forms.ValidationError(f"Tokens may live at most {settings.PLATFORM_TOKEN_MAX_DAYS} days here.")
        return days


class ProfileForm(forms.ModelForm):
    current_password = forms.CharField(
        widget=forms.PasswordInput(render_value=False), required=False, strip=False, label="Current password",
        help_text="Needed only to change your e-mail address (where password-reset links go).")

    class Meta:
        model = get_user_model()
        fields = ["first_name", "last_name", "email"]


class MembershipAddForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


class MembershipRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False, help_text="Without a password, an invitation to choose one is sent here.")
    password = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False,
                               help_text="Optional. At least 10 characters, not a common password.")
    is_platform_admin = forms.BooleanField(required=False, label="Platform admin")


class RateLimitedPasswordChangeForm(PasswordChangeForm):
    """Django's form; checking the old password counts like any password attempt (PLATFORM_LOGIN_RATE)."""

    def clean_old_password(self):
        slots = limits_take(scope="password", keys=password_attempt_keys(None, self.user.get_username()))
        old_password = super().clean_old_password()
        limit_give_back(slots)
        return old_password
