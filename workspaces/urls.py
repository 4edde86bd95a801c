from django.urls import path

from workspaces import views

urlpatterns = [path("", views.workspace_list, name="workspace_list")]
