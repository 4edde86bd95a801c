from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from oauth2_provider import views as oauth_views

from portal.accounts import oauth
from portal.accounts.urls import auth_patterns, web_patterns
from portal.web import views as web_views
from workspaces.api_urls import internal_urlpatterns
from workspaces.urls import profile_urlpatterns, server_fallback_urlpatterns

admin.site.site_header = "Workspaces platform: Django admin"

# The portal is an OAuth 2 provider only for the clients the platform registers itself (the hub:
# workspaces/hub.py). So only the endpoints a client signs in with are routed; nobody registers,
# lists or edits applications over the web (django-oauth-toolkit's management, dynamic client
# registration, device and OIDC views are left out).
oauth_patterns = [
    path("authorize/", oauth_views.AuthorizationView.as_view(), name="authorize"),
    path("token/", oauth.TokenView.as_view(), name="token"),
    path("revoke_token/", oauth.RevokeTokenView.as_view(), name="revoke-token"),
]

# /healthz, /readyz and /metrics are served by observability.middleware.RequestObservabilityMiddleware, before the
# Host header is checked (kubelets and Prometheus reach pods by address), so they have no route here.
urlpatterns = [
    path("", web_views.home, name="home"),
    path("welcome/", web_views.welcome, name="welcome"),
    path("accounts/", include(auth_patterns)),
    path("", include(web_patterns)),
    path("costs/", include("costs.urls")),
    path("workspaces/", include("workspaces.urls")),
    path("", include(profile_urlpatterns)),
    path("", include(server_fallback_urlpatterns)),
    path("images/builds/", include("builds.urls")),
    path("images/", include("images.urls")),
    path("data/", include("buckets.urls")),
    path("projects/", include("projects.urls")),
    # MLflow's UI and API behind the portal's sign-in and the projects' permissions (tracking/views.py).
    path("mlflow/", include("tracking.urls")),
    path("shares/", include("sharing.urls")),
    path("django-admin/", admin.site.urls),
    path("api/v1/", include("portal.api.urls")),
    path("api/v1/", include("workspaces.api_urls")),
    path("api/v1/images/builds/", include("builds.api_urls")),
    path("api/v1/images/", include("images.api_urls")),
    path("api/v1/", include("costs.api_urls")),
    path("api/v1/", include("buckets.api_urls")),
    path("api/v1/", include("projects.api_urls")),
    path("api/v1/", include("sharing.api_urls")),
    path("api/internal/", include(internal_urlpatterns)),
    path("o/", include((oauth_patterns, "oauth2_provider"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # The split view serves its start-up script as a file, not inline: it fits the CSP. Swagger UI
    # sets inline styles, so this page alone allows those (scripts stay our own files only).
    path("api/docs/", csp_update({"style-src": ["'unsafe-inline'"]})(SpectacularSwaggerSplitView.as_view(url_name="api_schema")),
         name="api_docs"),
]

handler404 = "portal.web.views.page_not_found"
handler500 = "portal.web.views.server_error"
