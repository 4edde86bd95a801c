"""Password checks, rate limited: every caller of ``authenticate()`` (the web login, the Django
admin's login, ``POST /api/v1/auth/token/``, the registry's token issuer) goes through here."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from portal.ratelimit import client_address, identity_key, limit_give_back, limits_take


def password_attempt_keys(request, username):
    keys = [f"user:{identity_key(username)}"]
    if request is not None:
        keys.insert(0, f"address:{client_address(request)}")
    return keys


class RateLimitedModelBackend(ModelBackend):
    """Django's backend behind PLATFORM_LOGIN_RATE per client address and per username.

    A slot is taken before the password is looked at and given back when it was right, so only
    failures count, and once they are used up even the right password is refused (raises
    ``portal.ratelimit.RateLimited``, which pages and the API answer with 429): the answer says
    nothing about the password."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        slots = limits_take(scope="password", keys=password_attempt_keys(request, username))
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            limit_give_back(slots)
        return user
