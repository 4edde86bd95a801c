from django.urls import path

from workspaces import api

urlpatterns = [
    path("profiles/", api.ProfileListApi.as_view(), name="api_profile_list"),
    path("profiles/<int:pk>/", api.ProfileDetailApi.as_view(), name="api_profile_detail"),
    path("workspaces/", api.WorkspaceListApi.as_view(), name="api_workspace_list"),
    path("workspaces/<int:pk>/", api.WorkspaceDetailApi.as_view(), name="api_workspace_detail"),
    path("workspaces/<int:pk>/start/", api.WorkspaceStartApi.as_view(), name="api_workspace_start"),
    path("workspaces/<int:pk>/stop/", api.WorkspaceStopApi.as_view(), name="api_workspace_stop"),
    path("workspaces/<int:pk>/restart/", api.WorkspaceRestartApi.as_view(), name="api_workspace_restart"),
    path("workspaces/<int:pk>/keep-running/", api.WorkspaceKeepRunningApi.as_view(), name="api_workspace_keep_running"),
    path("workspaces/<int:pk>/events/", api.WorkspaceEventListApi.as_view(), name="api_workspace_events"),
    path("workspaces/<int:pk>/project-files/", api.WorkspaceProjectFilesApi.as_view(), name="api_workspace_project_files"),
    path("workspaces/<int:pk>/lab/", api.WorkspaceLabApi.as_view(), name="api_workspace_lab"),
    path("workspaces/<int:pk>/lab/keep-running/", api.WorkspaceLabKeepRunningApi.as_view(), name="api_workspace_lab_keep_running"),
]

internal_urlpatterns = [
    path("launch-spec/", api.LaunchSpecApi.as_view(), name="internal_launch_spec"),
    path("server-event/", api.ServerEventApi.as_view(), name="internal_server_event"),
    path("storage/", api.StorageApi.as_view(), name="internal_storage"),
]
