from django.urls import path

from images import views

urlpatterns = [
    path("", views.image_list, name="image_list"),
    path("<int:pk>/", views.image_detail, name="image_detail"),
    path("<int:pk>/<str:action>/", views.image_action, name="image_action"),
    path("sync/", views.catalog_sync, name="image_sync"),
    path("local/", views.local_environment_create, name="image_local_create"),
    path("robots/", views.robot_list, name="image_robots"),
    path("robots/<int:pk>/revoke/", views.robot_revoke, name="image_robot_revoke"),
    path("policy/", views.scan_policy, name="image_policy"),
    path("policy/exceptions/<int:pk>/revoke/", views.scan_exception_revoke, name="image_exception_revoke"),
]
