"""The portal as an OAuth 2 provider (for the hub's sign-in): what django-oauth-toolkit checks on top
of its defaults."""

from collections import OrderedDict

from oauth2_provider import views as oauth_views
from oauth2_provider.oauth2_validators import OAuth2Validator

from portal.ratelimit import secret_failure_record


def _inactive(user):
    return user is not None and not user.is_active


class PortalOAuth2Validator(OAuth2Validator):
    """Access tokens, refresh tokens and authorization codes of a deactivated person are refused.

    Deactivation also deletes them (``user_set_active``); this covers accounts deactivated any other
    way (a bulk update, the database) and the moment between the two."""

    def validate_bearer_token(self, token, scopes, request):
        if not super().validate_bearer_token(token, scopes, request):
            return False
        if _inactive(request.user):
            request.oauth2_error = OrderedDict([("error", "invalid_token"),
                                                ("error_description", "The account is deactivated.")])
            return False
        return True

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        return valid and not _inactive(request.user)

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        valid = super().validate_code(client_id, code, client, request, *args, **kwargs)
        return valid and not _inactive(request.user)


class _FailuresCounted:
    """Failed client or token checks count against PLATFORM_LOGIN_RATE per client: past it the failing
    request is answered 429 (a valid one never is)."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code in (400, 401):
            secret_failure_record(request=request)
        return response


class TokenView(_FailuresCounted, oauth_views.TokenView):
    pass


class RevokeTokenView(_FailuresCounted, oauth_views.RevokeTokenView):
    pass
