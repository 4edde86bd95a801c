from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics

from portal.accounts.permissions import IsPlatformAdmin
from portal.audit.selectors import audit_event_list
from portal.audit.serializers import AuditEventSerializer


@extend_schema(
    tags=["audit"],
    parameters=[
        OpenApiParameter("action", str, description="Action or action prefix, e.g. `token.` or `auth.login`."),
        OpenApiParameter("actor", str, description="Username of whoever acted."),
        OpenApiParameter("target_type", str, description="e.g. `accounts.team`."),
        OpenApiParameter("target_id", str),
    ],
)
class AuditEventListApi(generics.ListAPIView):
    """The audit log, newest first. Platform admins only."""

    serializer_class = AuditEventSerializer
    permission_classes = [IsPlatformAdmin]

    def get_queryset(self):
        params = self.request.query_params
        return audit_event_list(
            action=params.get("action"),
            actor=params.get("actor"),
            target_type=params.get("target_type"),
            target_id=params.get("target_id"),
        )
