from django.urls import path

from builds import views

urlpatterns = [
    path("", views.build_list, name="build_list"),
    path("<int:pk>/", views.build_detail, name="build_detail"),
    path("<int:pk>/cancel/", views.build_cancel, name="build_cancel"),
    path("<int:pk>/propose/", views.build_propose, name="build_propose"),
]
