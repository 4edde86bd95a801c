"""REST endpoints for profiles and workspaces, plus the hub's internal launch-spec endpoint."""

import hmac

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from projects.selectors import project_list_for
from spawner.spec import ServerEvent
from workspaces import culling_services, profiles, project_files, selectors, services
from workspaces.lab_access import LabGrantAuthentication, LabGrantForThisWorkspace, lab_origin
from workspaces.launch import launch_spec_for
from workspaces.models import Profile, Workspace
from workspaces.serializers import (
    ProfileInput, ProfileOutput, ProjectFilesInput, WorkspaceCreateInput, WorkspaceDeleteInput, WorkspaceEventOutput, WorkspaceOutput,
)


def _profile_fields(data):
    data = dict(data)
    data["memory_bytes"] = data.pop("memory")
    data["disk_bytes"] = data.pop("disk")
    return data


@extend_schema(tags=["profiles"])
class ProfileListApi(generics.ListAPIView):
    """Profiles you may launch (platform admins: all, with `?all=true`). POST creates one (platform admins)."""

    serializer_class = ProfileOutput

    def get_queryset(self):
        if self.request.user.is_platform_admin and self.request.query_params.get("all") == "true":
            return Profile.objects.prefetch_related("teams")
        return selectors.profile_list_for(user=self.request.user).prefetch_related("teams")

    @extend_schema(request=ProfileInput, responses={201: ProfileOutput})
    def post(self, request):
        if not request.user.is_platform_admin:
            raise PermissionDenied("Only platform admins manage profiles.")
        serializer = ProfileInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        profile = profiles.profile_save(actor=request.user, request=request._request, **_profile_fields(serializer.validated_data))
        return Response(ProfileOutput(profile).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["profiles"])
class ProfileDetailApi(APIView):
    def _profile(self, request, pk):
        if request.user.is_platform_admin:
            return get_object_or_404(Profile, pk=pk)
        return get_object_or_404(selectors.profile_list_for(user=request.user), pk=pk)

    @extend_schema(responses=ProfileOutput)
    def get(self, request, pk):
        return Response(ProfileOutput(self._profile(request, pk), context={"request": request}).data)

    @extend_schema(request=ProfileInput, responses=ProfileOutput)
    def put(self, request, pk):
        if not request.user.is_platform_admin:
            raise PermissionDenied("Only platform admins manage profiles.")
        profile = get_object_or_404(Profile, pk=pk)
        serializer = ProfileInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        profile = profiles.profile_save(actor=request.user, profile=profile, request=request._request,
                                        **_profile_fields(serializer.validated_data))
        return Response(ProfileOutput(profile).data)


def _profile_from_reference(user, reference):
    """Among the profiles `user` may launch: one that exists but is not theirs reads as missing."""
    if reference is None:
        return None
    reference = str(reference).strip()
    lookup = Q(name__iexact=reference) | (Q(pk=int(reference)) if reference.isdigit() and len(reference) < 19 else Q())
    return selectors.profile_list_for(user=user).filter(lookup).first()


@extend_schema(tags=["workspaces"])
class WorkspaceListApi(generics.ListAPIView):
    """Your workspaces. POST creates one and asks for it to start (answers 202 at once)."""

    serializer_class = WorkspaceOutput

    def get_queryset(self):
        return selectors.workspace_list_for(user=self.request.user)

    @extend_schema(request=WorkspaceCreateInput, responses={202: WorkspaceOutput})
    def post(self, request):
        serializer = WorkspaceCreateInput(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        profile = _profile_from_reference(request.user, data["profile"])
        if profile is None:
            raise ValidationError({"profile": f"No profile {data['profile']!r}. GET /api/v1/profiles/ lists yours."})
        project = project_from_reference(request.user, data["project"], team=data["team"])
        workspace = services.workspace_create(owner=request.user, name=data["name"], profile=profile,
                                              team=data["team"], image=data["image"], project=project,
                                              project_files=data["project_files"], request=request._request)
        return Response(WorkspaceOutput(workspace, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


def project_from_reference(user, reference, *, team=None):
    """A project the user may see from an id, a slug (in ``team`` when given) or team/slug; None for none;
    a 400 naming `project` for anything else (another team's project reads as missing)."""
    if reference in (None, ""):
        return None
    reference = str(reference).strip()
    projects = project_list_for(user=user)
    if reference.isdigit() and len(reference) < 19:
        found = list(projects.filter(pk=int(reference)))
    elif "/" in reference:
        team_slug, _, slug = reference.partition("/")
        found = list(projects.filter(team__slug=team_slug, slug=slug))
    else:
        found = list(projects.filter(slug=reference, **({"team": team} if team is not None else {})))
    if len(found) > 1:
        raise ValidationError({"project": f"Several of your teams have a project {reference!r}: give team/slug or its id."})
    if not found:
        raise ValidationError({"project": f"No project {reference!r}. GET /api/v1/projects/ lists yours."})
    return found[0]


@extend_schema(tags=["workspaces"])
class WorkspaceProjectFilesApi(APIView):
    """Write a project's template files into the running workspace (into `~/<project slug>/`, committed with
    git); answers 202 at once, a `project_files` event says when they are there."""

    @extend_schema(request=ProjectFilesInput, responses={202: WorkspaceOutput})
    def post(self, request, pk):
        workspace = _own_workspace(request, pk)
        serializer = ProjectFilesInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = project_from_reference(request.user, serializer.validated_data["project"], team=workspace.team)
        project_files.workspace_add_project_files(workspace=workspace, actor=request.user, project=project,
                                                  template=serializer.validated_data["template"])
        return Response(WorkspaceOutput(workspace, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


def _own_workspace(request, pk):
    """404 for anything not the caller's: another user's workspace does not exist for them."""
    return get_object_or_404(selectors.workspace_list_for(user=request.user), pk=pk)


@extend_schema(tags=["workspaces"])
class WorkspaceDetailApi(APIView):
    @extend_schema(responses=WorkspaceOutput)
    def get(self, request, pk):
        return Response(WorkspaceOutput(_own_workspace(request, pk), context={"request": request}).data)

    @extend_schema(parameters=[WorkspaceDeleteInput], responses={202: WorkspaceOutput})
    def delete(self, request, pk):
        """Stop the server and forget the workspace. Its home is kept unless `?delete_home=true`."""
        workspace = _own_workspace(request, pk)
        options = WorkspaceDeleteInput(data=request.query_params)
        options.is_valid(raise_exception=True)
        workspace = services.workspace_request_delete(workspace=workspace, actor=request.user,
                                                      delete_home=options.validated_data["delete_home"])
        return Response(WorkspaceOutput(workspace, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


class _WorkspaceActionApi(APIView):
    action_service = None

    @extend_schema(tags=["workspaces"], request=None, responses={202: WorkspaceOutput})
    def post(self, request, pk):
        workspace = type(self).action_service(workspace=_own_workspace(request, pk), actor=request.user)
        workspace.refresh_from_db()
        return Response(WorkspaceOutput(workspace, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


class WorkspaceStartApi(_WorkspaceActionApi):
    """Start a stopped or failed workspace. Idempotent."""

    action_service = staticmethod(services.workspace_request_start)


class WorkspaceStopApi(_WorkspaceActionApi):
    """Stop the workspace; its files are kept. Idempotent."""

    action_service = staticmethod(services.workspace_request_stop)


class WorkspaceRestartApi(_WorkspaceActionApi):
    """Stop the server and start a fresh one."""

    action_service = staticmethod(services.workspace_request_restart)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


@extend_schema(tags=["workspaces"])
class WorkspaceKeepRunningApi(APIView):
    """Postpone a pending automatic stop (idle or maximum age) by the platform's extension, once per run.
    409 when there is nothing to postpone or this run was already kept running."""

    @extend_schema(request=None, responses={200: WorkspaceOutput})
    def post(self, request, pk):
        try:
            workspace = culling_services.workspace_keep_running(workspace=_own_workspace(request, pk), actor=request.user)
        except culling_services.KeepRunningRefused as exc:
            raise Conflict(str(exc)) from None
        return Response(WorkspaceOutput(workspace, context={"request": request}).data)


class _LabApi(APIView):
    """For the lab extension inside the workspace's JupyterLab, from the workspace's own origin, with the
    run's lab grant (workspaces/lab_access.py); it answers that origin's cross-origin requests."""

    authentication_classes = [LabGrantAuthentication]
    permission_classes = [LabGrantForThisWorkspace]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        origin = request.headers.get("Origin")
        workspace = Workspace.objects.select_related("owner").filter(pk=kwargs.get("pk")).first() if origin else None
        if workspace is not None and origin == lab_origin(workspace):
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Headers"] = "Authorization"
            response["Access-Control-Allow-Methods"] = "GET, POST"
            response["Access-Control-Max-Age"] = "600"
            response["Vary"] = "Origin"
        return response


@extend_schema(exclude=True)
class WorkspaceLabApi(_LabApi):
    """The workspace as its lab shows it (stop warnings)."""

    def get(self, request, pk):
        return Response(WorkspaceOutput(request.lab_workspace, context={"request": request}).data)


@extend_schema(exclude=True)
class WorkspaceLabKeepRunningApi(_LabApi):
    """The lab's "keep running" (the same rule as the portal's)."""

    def post(self, request, pk):
        try:
            workspace = culling_services.workspace_keep_running(workspace=request.lab_workspace, actor=request.user)
        except culling_services.KeepRunningRefused as exc:
            raise Conflict(str(exc)) from None
        return Response(WorkspaceOutput(workspace, context={"request": request}).data)


@extend_schema(tags=["workspaces"])
class WorkspaceEventListApi(generics.ListAPIView):
    """The workspace's lifecycle history, oldest first."""

    serializer_class = WorkspaceEventOutput

    def get_queryset(self):
        return _own_workspace(self.request, self.kwargs["pk"]).events.all()


# --- Internal: the hub's spawner asks what to launch --------------------------

class IsHubService(BasePermission):
    """The shared secret the hub's spawner sends as a Bearer token."""

    def has_permission(self, request, view):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        expected = f"Bearer {settings.PLATFORM_HUB_API_TOKEN}"
        return bool(settings.PLATFORM_HUB_API_TOKEN) and hmac.compare_digest(header.encode(), expected.encode())


class _HubServerApi(APIView):
    """An internal GET about one hub server, named by ``?user=&server=``; only the hub's spawner may ask."""

    authentication_classes = []
    permission_classes = [IsHubService]
    missing = "No such workspace."

    def get(self, request):
        workspace = selectors.workspace_for_hub_server(username=request.query_params.get("user", ""),
                                                       server_name=request.query_params.get("server", ""))
        answer = self.answer(workspace) if workspace is not None else None
        if answer is None:
            return Response({"detail": self.missing, "errors": {}}, status=404)
        return Response(answer)


@extend_schema(exclude=True)
class LaunchSpecApi(_HubServerApi):
    missing = "No workspace should run as this server."

    def answer(self, workspace):
        return launch_spec_for(workspace) if workspace.desired_state == workspace.Desired.RUNNING else None


@extend_schema(exclude=True)
class StorageApi(_HubServerApi):
    """Asked by the spawner when the hub forgets a server: ``{"delete_home": bool}``."""

    def answer(self, workspace):
        return services.workspace_storage_disposition(workspace=workspace)


@extend_schema(exclude=True)
class ServerEventApi(APIView):
    """The spawner reports what only it can see (`spawner.spec.ServerEvent`): every report names `user`,
    `server`, `event` and, once the spawner had the spec, the run's `generation`."""

    authentication_classes = []
    permission_classes = [IsHubService]

    def post(self, request):
        data = request.data
        workspace = selectors.workspace_for_hub_server(username=str(data.get("user", "")),
                                                       server_name=str(data.get("server", "")))
        if workspace is None:
            return Response({"detail": "No such workspace.", "errors": {}}, status=404)
        generation = _integer(data.get("generation"))
        event = data.get("event")
        if event == ServerEvent.SPAWN_FAILED:
            services.workspace_report_spawn_failure(workspace=workspace, message=str(data.get("message", ""))[:500],
                                                    out_of_memory=data.get("out_of_memory") is True, generation=generation)
        elif event == ServerEvent.SERVER_EXITED:
            services.workspace_report_server_exit(
                workspace=workspace, last_seen_alive=_instant(data.get("last_seen_alive"), "last_seen_alive"),
                exit_status=_integer(data.get("exit_status")), out_of_memory=data.get("out_of_memory") is True,
                log_tail=str(data.get("log_tail") or ""), generation=generation)
        elif event == ServerEvent.OUT_OF_MEMORY:
            services.workspace_report_out_of_memory(workspace=workspace, generation=generation)
        elif event == ServerEvent.HOME_DELETED:
            services.workspace_report_home_deleted(workspace=workspace)
        else:
            raise ValidationError({"event": f"Use one of: {', '.join(ServerEvent.ALL)}."})
        return Response(status=204)


def _integer(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _instant(value, field):
    """An ISO 8601 instant with a time zone, or None."""
    if value in (None, ""):
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None or parsed.tzinfo is None:
        raise ValidationError({field: "Give an ISO 8601 time with a time zone."})
    return parsed
