from django.urls import path

from projects import api

urlpatterns = [
    path("projects/", api.ProjectListApi.as_view(), name="api_project_list"),
    path("projects/<int:pk>/", api.ProjectDetailApi.as_view(), name="api_project_detail"),
    path("projects/<int:pk>/stage/", api.ProjectStageApi.as_view(), name="api_project_stage"),
    path("projects/<int:pk>/archive/", api.ProjectArchiveApi.as_view(), name="api_project_archive"),
    path("projects/<int:pk>/restore/", api.ProjectRestoreApi.as_view(), name="api_project_restore"),
    path("project-templates/", api.ProjectTemplateListApi.as_view(), name="api_project_template_list"),
    path("project-templates/default/", api.ProjectTemplateDefaultApi.as_view(), name="api_project_template_default"),
]
