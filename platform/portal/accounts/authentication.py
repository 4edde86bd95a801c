from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import authentication, exceptions

from portal.accounts.services import TOKEN_PREFIX, token_authenticate
from portal.ratelimit import secret_failure_record


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <personal access token>``.

    Failed checks count against PLATFORM_LOGIN_RATE per client (429 past it); a valid token is
    never refused by the limit."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: use 'Bearer <token>'.")
        try:
            raw = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The token contains invalid characters.") from None
        if not raw.startswith(TOKEN_PREFIX):
            return None  # not a personal access token: an OAuth2 access token, for the next authenticator
        token = token_authenticate(raw)
        if token is None:
            secret_failure_record(request=request)
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        return token.user, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class OAuth2TokenAuthentication(OAuth2Authentication):
    """An OAuth 2 access token the portal issued (the hub's sign-in). What it may reach is decided by
    ``TokenScopes``; failed checks count like failed personal tokens."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None and authentication.get_authorization_header(request)[:7].lower() == b"bearer ":
            secret_failure_record(request=request)
        return result


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}


class OAuth2TokenScheme(DjangoOAuthToolkitScheme):
    """In the schema, OAuth 2 appears only on the operations an OAuth token may use (``oauth_scopes``)."""

    target_class = OAuth2TokenAuthentication

    def get_security_requirement(self, auto_schema):
        scope = getattr(auto_schema.view, "oauth_scopes", {}).get(auto_schema.method)
        return [{self.name: [scope]}] if scope else []
