from django.urls import path

from images import api, registry_views

urlpatterns = [
    path("", api.ImageListApi.as_view(), name="api_image_list"),
    path("<int:pk>/", api.ImageDetailApi.as_view(), name="api_image_detail"),
    path("<int:pk>/approve/", api.ImageApproveApi.as_view(), name="api_image_approve"),
    path("<int:pk>/deprecate/", api.ImageDeprecateApi.as_view(), name="api_image_deprecate"),
    path("<int:pk>/retire/", api.ImageRetireApi.as_view(), name="api_image_retire"),
    path("choices/", api.LaunchChoicesApi.as_view(), name="api_image_choices"),
    path("sync/", api.CatalogSyncApi.as_view(), name="api_image_sync"),
    path("local/", api.LocalEnvironmentApi.as_view(), name="api_image_local"),
    path("reports/", api.ReportUploadApi.as_view(), name="api_image_reports"),
    path("sboms/", api.SbomUploadApi.as_view(), name="api_image_sboms"),
    path("policy/", api.ScanPolicyApi.as_view(), name="api_image_policy"),
    path("policy/teams/<slug:slug>/", api.ScanPolicyApi.as_view(), name="api_image_team_policy"),
    path("exceptions/", api.ScanExceptionListApi.as_view(), name="api_image_exceptions"),
    path("exceptions/<int:pk>/", api.ScanExceptionDetailApi.as_view(), name="api_image_exception_detail"),
    path("robots/", api.RobotListApi.as_view(), name="api_image_robots"),
    path("robots/<int:pk>/", api.RobotDetailApi.as_view(), name="api_image_robot_detail"),
    path("registry/token/", registry_views.registry_token, name="registry_token"),
    path("registry/events/", registry_views.registry_events, name="registry_events"),
]
