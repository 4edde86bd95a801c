from oauth2_provider.models import AccessToken as OAuthAccessToken
from rest_framework.permissions import SAFE_METHODS, BasePermission

from portal.accounts.models import AccessToken


class TokenScopes(BasePermission):
    """A token is accepted only where its scopes cover the request (in every API view's defaults).

    * Personal access tokens: ``write`` does whatever its owner may; ``read`` only reads (GET, HEAD,
      OPTIONS).
    * OAuth access tokens the portal issued (the hub's sign-in): only views that name a scope for the
      method in ``oauth_scopes``; ``MeApi`` has ``{"GET": "read"}``, and nothing else has any.
    * Sessions and robot secrets carry no token here (robots' reach is checked by the image
      services); any other kind of credential is refused.
    """

    def has_permission(self, request, view):
        token = request.auth
        if token is None:
            return True
        if isinstance(token, AccessToken):
            if request.method in SAFE_METHODS or token.can_write:
                return True
            self.message = "This token is read-only (scope 'read'): create a token with scope 'write' to make changes."
            return False
        if isinstance(token, OAuthAccessToken):
            method = "GET" if request.method == "HEAD" else request.method
            scope = getattr(view, "oauth_scopes", {}).get(method)
            if scope and token.allow_scopes([scope]):
                return True
            self.message = "OAuth tokens of the platform's applications may not use this endpoint."
            return False
        self.message = "This kind of credential is not accepted here."
        return False


class IsPlatformAdmin(TokenScopes):
    """A platform admin, through a session or a token whose scopes cover the request."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        user = request.user
        self.message = "Only platform admins may do this."
        return bool(user and user.is_authenticated and user.is_platform_admin)
