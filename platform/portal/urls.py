from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal.accounts.urls import auth_patterns, web_patterns
from portal.web import views as web_views

admin.site.site_header = "Workspaces platform: Django admin"

urlpatterns = [
    path("", web_views.home, name="home"),
    path("healthz", web_views.healthz, name="healthz"),
    path("accounts/", include(auth_patterns)),
    path("", include(web_patterns)),
    path("costs/", web_views.costs, name="costs"),
    path("workspaces/", include("workspaces.urls")),
    path("images/", include("images.urls")),
    path("django-admin/", admin.site.urls),
    path("api/v1/", include("portal.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
]

handler404 = "portal.web.views.page_not_found"
handler500 = "portal.web.views.server_error"
