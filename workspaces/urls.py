from django.urls import path

from workspaces import views

urlpatterns = [
    path("", views.workspace_list, name="workspace_list"),
    path("<int:pk>/", views.workspace_detail, name="workspace_detail"),
    path("<int:pk>/<str:action>/", views.workspace_action, name="workspace_action"),
]

profile_urlpatterns = [
    path("manage/profiles/", views.profile_list, name="profile_list"),
    path("manage/profiles/<int:pk>/", views.profile_edit, name="profile_edit"),
]

server_fallback_urlpatterns = [
    path("user/<str:username>/<str:server_name>/", views.stopped_server),
    path("user/<str:username>/<str:server_name>/<path:rest>", views.stopped_server),
]
