"""A bare DRF list view of the same workspaces: DRF's ListAPIView and a plain ModelSerializer of the columns the
platform's list shows (names of the related rows joined in), the platform's token authentication, DRF's default
of no pagination, and no middleware (benchmarks/bare_api_settings.py)."""

from django.urls import path
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated

from portal.accounts.authentication import BearerTokenAuthentication
from workspaces.models import Workspace


class BareWorkspaceOutput(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")
    team = serializers.CharField(source="team.slug")
    profile = serializers.CharField(source="profile.name")

    class Meta:
        model = Workspace
        fields = ["id", "name", "owner", "team", "project_id", "profile", "image", "status_message", "failure_reason",
                  "progress", "created", "started", "stopped"]


class BareWorkspaceList(generics.ListAPIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsAuthenticated]
    pagination_class = None
    serializer_class = BareWorkspaceOutput

    def get_queryset(self):
        return Workspace.objects.filter(owner=self.request.user).select_related("owner", "team", "profile").order_by("-id")[:50]


urlpatterns = [path("api/v1/workspaces/", BareWorkspaceList.as_view())]
