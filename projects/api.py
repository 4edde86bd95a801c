"""REST endpoints for projects and project templates. Thin: rules live in services."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from projects import selectors, services, templates
from projects.serializers import (
    DefaultTemplateInput, DefaultTemplateOutput, ProjectCreateInput, ProjectOutput, ProjectTemplateInput, ProjectTemplateOutput, ProjectUpdateInput, StageInput,
)


@extend_schema(tags=["projects"], parameters=[
    OpenApiParameter("team", str, description="Only this team's projects (slug)."),
    OpenApiParameter("archived", bool, description="true: archived only; false: live only; default: both."),
])
class ProjectListApi(generics.ListAPIView):
    """Your teams' projects (platform admins: every project). POST creates one in a team you belong to."""

    serializer_class = ProjectOutput

    def get_queryset(self):
        projects = selectors.project_list_for(user=self.request.user).prefetch_related("members", "stage_changes")
        params = self.request.query_params
        if params.get("team"):
            projects = projects.filter(team__slug=params["team"])
        if params.get("archived") in ("true", "false"):
            projects = projects.filter(archived__isnull=params["archived"] == "false")
        return projects

    @extend_schema(request=ProjectCreateInput, responses={201: ProjectOutput})
    def post(self, request):
        serializer = ProjectCreateInput(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        project = services.project_create(actor=request.user, request=request._request, **serializer.validated_data)
        return Response(ProjectOutput(selectors.project_get_for(user=request.user, pk=project.pk)).data,
                        status=status.HTTP_201_CREATED)


@extend_schema(tags=["projects"])
class ProjectDetailApi(APIView):
    @extend_schema(responses=ProjectOutput)
    def get(self, request, pk):
        return Response(ProjectOutput(selectors.project_get_for(user=request.user, pk=pk)).data)

    @extend_schema(request=ProjectUpdateInput, responses=ProjectOutput)
    def patch(self, request, pk):
        project = selectors.project_get_for(user=request.user, pk=pk)
        serializer = ProjectUpdateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.project_update(project=project, actor=request.user, request=request._request, **serializer.validated_data)
        return Response(ProjectOutput(selectors.project_get_for(user=request.user, pk=pk)).data)


@extend_schema(tags=["projects"])
class ProjectStageApi(APIView):
    """Move the project to another lifecycle stage (owners and team admins); it joins the timeline."""

    @extend_schema(request=StageInput, responses=ProjectOutput)
    def post(self, request, pk):
        project = selectors.project_get_for(user=request.user, pk=pk)
        serializer = StageInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.project_set_stage(project=project, actor=request.user, stage=serializer.validated_data["stage"],
                                   request=request._request)
        return Response(ProjectOutput(selectors.project_get_for(user=request.user, pk=pk)).data)


class _ArchiveApi(APIView):
    archived = True

    @extend_schema(tags=["projects"], request=None, responses=ProjectOutput)
    def post(self, request, pk):
        project = selectors.project_get_for(user=request.user, pk=pk)
        services.project_set_archived(project=project, actor=request.user, archived=self.archived, request=request._request)
        return Response(ProjectOutput(selectors.project_get_for(user=request.user, pk=pk)).data)


class ProjectArchiveApi(_ArchiveApi):
    """Archive the project: read-only, and no new workspaces in it. Idempotent."""

    archived = True


class ProjectRestoreApi(_ArchiveApi):
    """Restore an archived project. Idempotent."""

    archived = False


@extend_schema(tags=["projects"])
class ProjectTemplateListApi(generics.ListAPIView):
    """Templates projects' files are rendered from (the built-in one is `dslp`). POST registers one (platform admins)."""

    serializer_class = ProjectTemplateOutput
    pagination_class = None

    def get_queryset(self):
        return selectors.template_list()

    @extend_schema(request=ProjectTemplateInput, responses={201: ProjectTemplateOutput})
    def post(self, request):
        if not request.user.is_platform_admin:
            raise PermissionDenied("Only platform admins register project templates.")
        serializer = ProjectTemplateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        template = templates.template_register(actor=request.user, request=request._request, **serializer.validated_data)
        return Response(ProjectTemplateOutput(template).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["projects"])
class ProjectTemplateDefaultApi(APIView):
    """The template new project files come from when none is named. PUT picks it (platform admins)."""

    @extend_schema(responses=DefaultTemplateOutput)
    def get(self, request):
        return Response({"template": templates.template_resolve("")[0]})

    @extend_schema(request=DefaultTemplateInput, responses=DefaultTemplateOutput)
    def put(self, request):
        if not request.user.is_platform_admin:
            raise PermissionDenied("Only platform admins pick the default project template.")
        serializer = DefaultTemplateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        templates.template_set_default(actor=request.user, name=serializer.validated_data["template"], request=request._request)
        return Response({"template": templates.template_resolve("")[0]})
