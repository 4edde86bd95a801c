from django.urls import path

from sharing import api

urlpatterns = [
    path("shares/notebooks/", api.NotebookListApi.as_view(), name="api_share_notebook_list"),
    path("shares/notebooks/<int:pk>/", api.NotebookDetailApi.as_view(), name="api_share_notebook_detail"),
    path("shares/notebooks/<int:pk>/versions/", api.VersionListApi.as_view(), name="api_share_version_list"),
    path("shares/notebooks/<int:pk>/versions/<int:number>/download/", api.VersionDownloadApi.as_view(),
         name="api_share_version_download"),
    path("shares/notebooks/<int:pk>/versions/<int:number>/files/<path:file_path>", api.VersionFileDownloadApi.as_view(),
         name="api_share_version_file"),
    path("shares/notebooks/<int:pk>/diff/", api.DiffApi.as_view(), name="api_share_diff"),
    path("shares/notebooks/<int:pk>/grants/", api.GrantListApi.as_view(), name="api_share_grant_list"),
    path("shares/notebooks/<int:pk>/grants/<int:grant_id>/", api.GrantDetailApi.as_view(), name="api_share_grant_detail"),
    path("shares/notebooks/<int:pk>/links/", api.LinkListApi.as_view(), name="api_share_link_list"),
    path("shares/notebooks/<int:pk>/links/<int:link_id>/", api.LinkDetailApi.as_view(), name="api_share_link_detail"),
    path("shares/notebooks/<int:pk>/copies/", api.CopyApi.as_view(), name="api_share_copy"),
    path("shares/copies/<int:copy_id>/", api.CopyDetailApi.as_view(), name="api_share_copy_detail"),
    path("shares/snapshots/<int:snapshot_id>/", api.SnapshotDetailApi.as_view(), name="api_share_snapshot"),
    path("shares/snapshots/<int:snapshot_id>/retry/", api.SnapshotRetryApi.as_view(), name="api_share_snapshot_retry"),
    path("shares/workspaces/<int:workspace_id>/files/", api.WorkspaceFilesApi.as_view(), name="api_share_workspace_files"),
    path("shares/shared-with-me/", api.SharedWithMeApi.as_view(), name="api_shared_with_me"),
    path("shares/live/", api.LiveShareListApi.as_view(), name="api_live_share_list"),
    path("shares/live/<int:share_id>/", api.LiveShareDetailApi.as_view(), name="api_live_share_detail"),
]
