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


def _count_failures(view_class):
    """The view, with failed client or token checks counted against PLATFORM_LOGIN_RATE per client
    (past it the failing request is answered 429; a valid one never is)."""

    class CountedView(view_class):
        def post(self, request, *args, **kwargs):
            response = super().post(request, *args, **kwargs)
            if response.status_code in (400, 401):
                secret_failure_record(request=request)
            return response

    CountedView.__name__ = CountedView.__qualname__ = view_class.__name__
    return CountedView


TokenView = _count_failures(oauth_views.TokenView)
RevokeTokenView = _count_failures(oauth_views.RevokeTokenView)
