from django.urls import path

from sharing import views

urlpatterns = [
    path("", views.share_list, name="sharing_list"),
    path("publish/", views.publish, name="sharing_publish"),
    path("<int:pk>/", views.notebook_page, name="sharing_notebook"),
    path("<int:pk>/v/<int:number>/", views.notebook_page, name="sharing_version"),
    path("<int:pk>/v/<int:number>/render/", views.version_render, name="sharing_render"),
    path("<int:pk>/v/<int:number>/download/", views.version_download, name="sharing_download"),
    path("<int:pk>/v/<int:number>/files/<path:file_path>", views.version_file, name="sharing_file"),
    path("<int:pk>/diff/", views.diff_page, name="sharing_diff"),
    path("<int:pk>/grants/", views.grant_add, name="sharing_grant_add"),
    path("<int:pk>/grants/<int:grant_id>/remove/", views.grant_remove, name="sharing_grant_remove"),
    path("<int:pk>/everyone/", views.everyone, name="sharing_everyone"),
    path("<int:pk>/links/", views.link_create, name="sharing_link_create"),
    path("<int:pk>/links/<int:link_id>/revoke/", views.link_revoke, name="sharing_link_revoke"),
    path("<int:pk>/snapshots/<int:snapshot_id>/retry/", views.snapshot_retry, name="sharing_snapshot_retry"),
    path("<int:pk>/copies/", views.copy_create, name="sharing_copy_create"),
    path("copies/<int:copy_id>/", views.copy_page, name="sharing_copy"),
    path("s/<str:token>/", views.link_page, name="sharing_link"),
    path("s/<str:token>/render/", views.link_render, name="sharing_link_render"),
    path("s/<str:token>/download/", views.link_download, name="sharing_link_download"),
    path("s/<str:token>/files/<path:file_path>", views.link_file, name="sharing_link_file"),
    path("live/", views.live_grant, name="sharing_live_grant"),
    path("live/<int:share_id>/revoke/", views.live_revoke, name="sharing_live_revoke"),
]
