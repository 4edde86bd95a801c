"""REST endpoints of image builds (/api/v1/images/builds/): thin; the rules live in builds.services."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from builds import selectors, services
from builds.models import ImageBuild
from builds.serializers import BuildLogOutput, BuildOutput, CustomBuildInput, ProposeInput
from portal.api.inputs import validated

TAGS = ["image builds"]



@extend_schema(tags=TAGS)
class BuildListApi(generics.ListAPIView):
    """Your builds, newest first (platform admins: everyone's). POST builds an image from a folder of your running
    workspace: 202, a build a Celery worker runs; follow it at its `log/`."""

    serializer_class = BuildOutput

    def get_queryset(self):
        return selectors.builds_for(self.request.user)

    @extend_schema(request=CustomBuildInput, responses={202: BuildOutput})
    def post(self, request):
        data = validated(CustomBuildInput, request)
        build = services.build_custom_request(actor=request.user, workspace_id=data["workspace"], folder=data["folder"],
                                              base=data["base"], name=data["name"], team=data["team"], request=request._request)
        return Response(BuildOutput(build).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=TAGS)
class BuildDetailApi(APIView):
    @extend_schema(responses=BuildOutput)
    def get(self, request, pk):
        return Response(BuildOutput(selectors.build_get_for(user=request.user, pk=pk)).data)


@extend_schema(tags=TAGS, parameters=[OpenApiParameter("offset", int, description="Characters already read.")])
class BuildLogApi(APIView):
    @extend_schema(responses=BuildLogOutput)
    def get(self, request, pk):
        build = selectors.build_get_for(user=request.user, pk=pk)
        try:
            offset = int(request.query_params.get("offset", 0))
        except ValueError:
            offset = 0
        text, offset = selectors.log_from(build, offset)
        return Response({"text": text, "offset": offset, "state": build.state, "step": build.step, "error": build.error,
                         "done": build.state not in ImageBuild.ACTIVE})


@extend_schema(tags=TAGS)
class BuildCancelApi(APIView):
    @extend_schema(request=None, responses=BuildOutput)
    def post(self, request, pk):
        build = selectors.build_get_for(user=request.user, pk=pk)
        return Response(BuildOutput(services.build_cancel(actor=request.user, build=build, request=request._request)).data)


@extend_schema(tags=TAGS)
class BuildProposeApi(APIView):
    """Copy the image into teams/<team>/…, where it waits for a team admin's approval."""

    @extend_schema(request=ProposeInput, responses={202: None})
    def post(self, request, pk):
        build = selectors.build_get_for(user=request.user, pk=pk)
        target = services.build_propose(actor=request.user, build=build, team_slug=validated(ProposeInput, request)["team"],
                                        request=request._request)
        return Response({"repository": target, "tag": build.tag}, status=status.HTTP_202_ACCEPTED)
