from django.urls import path

from builds import api

urlpatterns = [
    path("", api.BuildListApi.as_view(), name="api_build_list"),
    path("<int:pk>/", api.BuildDetailApi.as_view(), name="api_build_detail"),
    path("<int:pk>/log/", api.BuildLogApi.as_view(), name="api_build_log"),
    path("<int:pk>/cancel/", api.BuildCancelApi.as_view(), name="api_build_cancel"),
    path("<int:pk>/propose/", api.BuildProposeApi.as_view(), name="api_build_propose"),
]
