"""REST endpoints of the image catalog (/api/v1/images/)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts.models import Membership
from portal.accounts.selectors import team_can_manage, team_list_for

from images import selectors, services, tasks
from images.authentication import RobotBearerAuthentication
from images.models import Manifest, Repository, RobotAccount, ScanException, ScanPolicy
from images.serializers import (
    ApproveInput, DeprecateInput, ExceptionSerializer, FindingOutput, ImageOutput, LocalEnvironmentInput,
    ManifestOutput, PackageOutput, PolicySerializer, ReportInput, ReportOutput, RobotCreatedOutput, RobotInput,
    RobotOutput, SbomInput, SbomOutput,
)


def _require_admin(request, what):
    if not request.user.is_platform_admin:
        raise PermissionDenied(f"Only platform admins {what}.")


def _entry(request, pk):
    """404 for entries the caller may not see."""
    return get_object_or_404(selectors.catalog_for(request.user), pk=pk)


@extend_schema(tags=["images"], parameters=[
    OpenApiParameter("namespace", description="platform, team, user or local"),
    OpenApiParameter("status", description="new, approved, deprecated or retired"),
    OpenApiParameter("package", description="Only images whose SBOM lists this package (name, case-insensitive); "
                                            "name==version for an exact version"),
    OpenApiParameter("q", description="Text in the reference or title"),
])
class ImageListApi(generics.ListAPIView):
    """The catalog entries you may see."""

    serializer_class = ImageOutput

    def get_queryset(self):
        entries = selectors.catalog_for(self.request.user)
        params = self.request.query_params
        if params.get("namespace"):
            entries = entries.filter(repository__namespace=params["namespace"])
        if params.get("status"):
            entries = entries.filter(status=params["status"])
        if params.get("package"):
            name, _, version = params["package"].partition("==")
            match = Q(manifest__packages__name__iexact=name.strip())
            if version:
                match &= Q(manifest__packages__version=version.strip())
            entries = entries.filter(match)
        if params.get("q"):
            entries = entries.filter(Q(repository__name__icontains=params["q"]) | Q(tag__icontains=params["q"])
                                     | Q(manifest__title__icontains=params["q"]))
        return entries.distinct().order_by("repository__name", "-created")


@extend_schema(tags=["images"])
class ImageDetailApi(APIView):
    @extend_schema(responses=ImageOutput)
    def get(self, request, pk):
        """One entry with its repository's other tags, its digests, scan findings and packages."""
        entry = _entry(request, pk)
        data = ImageOutput(entry).data
        visible = selectors.catalog_for(request.user).filter(repository=entry.repository)
        data["tags"] = ImageOutput(visible.order_by("-created"), many=True).data
        # Only digests behind tags the caller may see: an unapproved build stays invisible to members.
        manifests = Manifest.objects.filter(tags__in=visible).distinct().prefetch_related("tags")
        data["digests"] = ManifestOutput(manifests, many=True).data
        report = entry.manifest.latest_report if entry.manifest_id else None
        data["findings"] = FindingOutput(report.findings.all(), many=True).data if report else []
        data["packages"] = PackageOutput(entry.manifest.packages.all(), many=True).data if entry.manifest_id else []
        data["can_manage"] = selectors.can_curate(request.user, entry.repository)
        return Response(data)


class _LifecycleApi(APIView):
    def _curatable(self, request, pk):
        entry = _entry(request, pk)
        if not selectors.can_curate(request.user, entry.repository):
            raise PermissionDenied("You may not manage this image.")
        return entry


@extend_schema(tags=["images"], request=ApproveInput, responses=ImageOutput)
class ImageApproveApi(_LifecycleApi):
    def post(self, request, pk):
        """new or deprecated → approved, for all teams or the teams listed."""
        entry = self._curatable(request, pk)
        serializer = ApproveInput(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        entry = services.image_approve(entry=entry, actor=request.user, request=request._request, **serializer.validated_data)
        return Response(ImageOutput(entry).data)


@extend_schema(tags=["images"], request=DeprecateInput, responses=ImageOutput)
class ImageDeprecateApi(_LifecycleApi):
    def post(self, request, pk):
        """approved → deprecated; launches are redirected to the replacement, the message is shown."""
        entry = self._curatable(request, pk)
        serializer = DeprecateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        replacement = None
        reference = serializer.validated_data["replacement"].strip()
        if reference:
            candidates = selectors.catalog_for(request.user)
            replacement = next((c for c in candidates if reference in (str(c.pk), c.reference)), None)
            if replacement is None:
                raise ValidationError({"replacement": f"No catalog entry {reference!r}."})
        entry = services.image_deprecate(entry=entry, actor=request.user, replacement=replacement,
                                         message=serializer.validated_data["message"], request=request._request)
        return Response(ImageOutput(entry).data)


@extend_schema(tags=["images"], request=None, responses=ImageOutput)
class ImageRetireApi(_LifecycleApi):
    def post(self, request, pk):
        """→ retired: hidden from launches; existing workspaces keep their pinned reference."""
        entry = services.image_retire(entry=self._curatable(request, pk), actor=request.user, request=request._request)
        return Response(ImageOutput(entry).data)


@extend_schema(tags=["images"], parameters=[OpenApiParameter("team", description="Team slug (when you are in several)")])
class LaunchChoicesApi(APIView):
    """What you may launch a workspace from, with badges: recommended, deprecated → replacement, blocked and why."""

    @extend_schema(responses=inline_serializer("LaunchChoices", {
        "team": serializers.CharField(allow_null=True), "default": serializers.CharField(allow_null=True),
        "results": serializers.ListField(child=serializers.DictField())}))
    def get(self, request):
        memberships = Membership.objects.filter(user=request.user).select_related("team")
        slug = request.query_params.get("team")
        team = next((m.team for m in memberships if m.team.slug == slug), None) if slug else (
            memberships[0].team if len(memberships) == 1 else None)
        if slug and team is None:
            raise ValidationError({"team": "You are not a member of that team."})
        choices = selectors.launch_choices(user=request.user, team=team)
        return Response({"team": team.slug if team else None,
                         "default": getattr(selectors.default_choice(choices), "value", None),
                         "results": [choice.as_dict() for choice in choices]})


@extend_schema(tags=["images"], request=None, responses={202: None})
class CatalogSyncApi(APIView):
    def post(self, request):
        """Sync the catalog with the registry now (platform admins); it also runs on a schedule and on pushes."""
        _require_admin(request, "sync the catalog")
        if not settings.PLATFORM_REGISTRY_URL:
            raise ValidationError({"detail": "No registry is configured (PLATFORM_REGISTRY_URL): only local environments exist."})
        transaction.on_commit(tasks.catalog_sync_task.delay)
        return Response({"detail": "Catalog sync queued."}, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["images"], request=LocalEnvironmentInput, responses={201: ImageOutput})
class LocalEnvironmentApi(APIView):
    def post(self, request):
        """Add (or update) a local environment: a host Python with Jupyter; it starts as new and needs approval."""
        _require_admin(request, "add local environments")
        serializer = LocalEnvironmentInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = services.local_environment_save(actor=request.user, request=request._request, **serializer.validated_data)
        return Response(ImageOutput(entry).data, status=status.HTTP_201_CREATED)


_CI_AUTH = [RobotBearerAuthentication, *APIView.authentication_classes]


@extend_schema(tags=["images"], request=ReportInput, responses={201: ReportOutput})
class ReportUploadApi(APIView):
    """Attach a Trivy JSON report to a digest (CI: a robot secret or a token of someone who may push there)."""

    authentication_classes = _CI_AUTH

    def post(self, request):
        serializer = ReportInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report, new = services.report_attach(digest=data["digest"], repository=data["repository"], report=data["report"],
                                             principal=request.user, request=request._request)
        return Response({"id": report.pk, "digest": data["digest"], "counts": report.counts,
                         "new_findings": sorted({f.vulnerability_id for f in new})}, status=status.HTTP_201_CREATED)


@extend_schema(tags=["images"], request=SbomInput, responses={201: SbomOutput})
class SbomUploadApi(APIView):
    """Attach an SBOM (SPDX 2.x or CycloneDX JSON) to a digest; its packages become searchable."""

    authentication_classes = _CI_AUTH

    def post(self, request):
        serializer = SbomInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        manifest, parsed = services.sbom_attach(digest=data["digest"], repository=data["repository"], sbom=data["sbom"],
                                                principal=request.user, request=request._request)
        return Response({"digest": manifest.digest, "format": parsed.format, "packages": len(parsed.packages),
                         "python_version": parsed.python_version}, status=status.HTTP_201_CREATED)


def _policy_team(request, slug, *, change):
    """The team of ``/policy/teams/<slug>/`` (None for the platform's). Teams the caller does not
    belong to answer 404 like made-up slugs: their existence does not leak."""
    if slug is None:
        if change:
            _require_admin(request, "change the platform's scan policy")
        return None
    team = get_object_or_404(team_list_for(user=request.user), slug=slug)
    if change and not team_can_manage(user=request.user, team=team):
        raise PermissionDenied("Only platform admins and this team's admins set its scan policy.")
    return team


@extend_schema(tags=["images"])
class ScanPolicyApi(APIView):
    """The scan gate: the platform's policy, or a team's (``/policy/teams/<slug>/``). The stricter of the two applies."""

    @extend_schema(responses=PolicySerializer)
    def get(self, request, slug=None):
        team = _policy_team(request, slug, change=False)
        policy = ScanPolicy.objects.filter(team=team).first() or ScanPolicy(team=team)
        return Response(PolicySerializer(policy).data)

    @extend_schema(request=PolicySerializer, responses=PolicySerializer)
    def put(self, request, slug=None):
        team = _policy_team(request, slug, change=True)
        serializer = PolicySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy = services.scan_policy_save(team=team, actor=request.user, request=request._request,
                                           block_threshold=serializer.validated_data["block_threshold"],
                                           allow_unscanned=serializer.validated_data.get("allow_unscanned", False))
        return Response(PolicySerializer(policy).data)


@extend_schema(tags=["images"])
class ScanExceptionListApi(generics.ListAPIView):
    """Time-boxed exceptions to the scan gate: platform admins see all; others the platform-wide ones and
    their teams', on repositories they may see. POST creates one (platform admins)."""

    serializer_class = ExceptionSerializer

    def get_queryset(self):
        return selectors.scan_exceptions_for(self.request.user).select_related("repository", "team", "created_by")

    @extend_schema(request=ExceptionSerializer, responses={201: ExceptionSerializer})
    def post(self, request):
        _require_admin(request, "grant scan exceptions")
        serializer = ExceptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        repository = None
        if (data.get("repository") or {}).get("name"):
            repository = Repository.objects.filter(name=data["repository"]["name"]).first()
            if repository is None:
                raise ValidationError({"repository": f"No repository {data['repository']['name']!r} in the catalog."})
        exception = services.scan_exception_create(
            vulnerability_id=data["vulnerability_id"], justification=data["justification"], expires=data["expires"],
            repository=repository, team=data.get("team"), actor=request.user, request=request._request)
        return Response(ExceptionSerializer(exception).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["images"])
class ScanExceptionDetailApi(APIView):
    @extend_schema(responses=ExceptionSerializer)
    def delete(self, request, pk):
        """Revoke an exception now."""
        _require_admin(request, "revoke scan exceptions")
        exception = services.scan_exception_revoke(exception=get_object_or_404(ScanException, pk=pk), actor=request.user,
                                                   request=request._request)
        return Response(ExceptionSerializer(exception).data)


@extend_schema(tags=["images"])
class RobotListApi(generics.ListAPIView):
    """Robot accounts for CI (platform admins). POST creates one; its secret is in the answer, once."""

    serializer_class = RobotOutput

    def get_queryset(self):
        _require_admin(self.request, "manage robot accounts")
        return RobotAccount.objects.select_related("created_by")

    @extend_schema(request=RobotInput, responses={201: RobotCreatedOutput})
    def post(self, request):
        _require_admin(request, "manage robot accounts")
        serializer = RobotInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        robot, secret = services.robot_create(actor=request.user, request=request._request, **serializer.validated_data)
        robot.secret = secret
        return Response(RobotCreatedOutput(robot).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["images"])
class RobotDetailApi(APIView):
    @extend_schema(responses=RobotOutput)
    def delete(self, request, pk):
        """Revoke a robot: its secret stops working at once (registry tokens it already holds expire within minutes)."""
        _require_admin(request, "manage robot accounts")
        robot = services.robot_revoke(robot=get_object_or_404(RobotAccount, pk=pk), actor=request.user, request=request._request)
        return Response(RobotOutput(robot).data)
