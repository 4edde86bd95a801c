"""REST endpoints for buckets and S3 credentials. Thin: rules live in services."""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from buckets import selectors, services
from buckets.models import State
from buckets.serializers import (
    BucketOutput, CredentialsOutput, CredentialsRevealOutput, LinkInput, LinkOutput, ListingOutput, QuotaInput,
    TeamBucketInput,
)
from buckets.storage import StorageError
from portal.accounts.models import Team
from django.shortcuts import get_object_or_404


class StorageDown(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The object store is unreachable; try again in a moment."
    default_code = "storage_unavailable"


def _store(call, **kwargs):
    try:
        return call(**kwargs)
    except StorageError as exc:
        raise StorageDown(services.storage_unavailable_reason(exc)) from None


def _admin_only(request, what):
    if not request.user.is_platform_admin:
        raise PermissionDenied(f"Only platform admins {what}.")


@extend_schema(tags=["buckets"])
class BucketListApi(generics.ListAPIView):
    """Your bucket and your teams' buckets (platform admins: every bucket), with size, quota and state."""

    serializer_class = BucketOutput

    def get_queryset(self):
        return selectors.bucket_list_for(user=self.request.user)


@extend_schema(tags=["buckets"])
class BucketDetailApi(APIView):
    @extend_schema(responses=BucketOutput)
    def get(self, request, pk):
        return Response(BucketOutput(selectors.bucket_get_for(user=request.user, pk=pk)).data)


@extend_schema(tags=["buckets"])
class BucketObjectsApi(APIView):
    """One level of a bucket's objects under `prefix` (folders as `prefixes`); owner and team members only."""

    @extend_schema(parameters=[OpenApiParameter("prefix", str), OpenApiParameter("token", str)], responses=ListingOutput)
    def get(self, request, pk):
        bucket = selectors.bucket_get_for(user=request.user, pk=pk)
        prefix, listing = _store(services.bucket_browse, bucket=bucket, user=request.user,
                                 prefix=request.query_params.get("prefix", ""), token=request.query_params.get("token", ""))
        return Response(ListingOutput({"prefix": prefix, "prefixes": listing.prefixes, "objects": listing.objects,
                                       "next_token": listing.next_token}).data)


class _LinkApi(APIView):
    method = ""
    service = None

    @extend_schema(tags=["buckets"], request=LinkInput, responses=LinkOutput)
    def post(self, request, pk):
        bucket = selectors.bucket_get_for(user=request.user, pk=pk)
        serializer = LinkInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        url = _store(type(self).service, bucket=bucket, user=request.user, key=serializer.validated_data["key"])
        return Response(LinkOutput({"url": url, "method": self.method,
                                    "expires_in": settings.PLATFORM_BUCKETS_LINK_SECONDS}).data)


class DownloadLinkApi(_LinkApi):
    """A presigned GET URL for one object: the client downloads it from the store directly."""

    method = "GET"
    service = staticmethod(services.object_download_link)


class UploadLinkApi(_LinkApi):
    """A presigned PUT URL for one object: `curl -T file.csv "<url>"` uploads it to the store directly."""

    method = "PUT"
    service = staticmethod(services.object_upload_link)


@extend_schema(tags=["buckets"])
class TeamBucketListApi(APIView):
    """A team's buckets; platform admins add more."""

    @extend_schema(responses=BucketOutput(many=True))
    def get(self, request, team_id):
        buckets = selectors.bucket_list_for(user=request.user).filter(team_id=team_id)
        if not request.user.is_platform_admin and not buckets.exists():
            get_object_or_404(Team.objects.filter(memberships__user=request.user), pk=team_id)
        return Response(BucketOutput(buckets, many=True).data)

    @extend_schema(request=TeamBucketInput, responses={201: BucketOutput})
    def post(self, request, team_id):
        _admin_only(request, "add team buckets")
        team = get_object_or_404(Team, pk=team_id)
        serializer = TeamBucketInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        bucket = services.bucket_create_for_team(team=team, label=serializer.validated_data["name"],
                                                 quota_bytes=serializer.validated_data.get("quota_bytes"),
                                                 actor=request.user, request=request._request)
        return Response(BucketOutput(bucket).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["buckets"])
class BucketQuotaApi(APIView):
    @extend_schema(request=QuotaInput, responses=BucketOutput)
    def put(self, request, pk):
        bucket = selectors.bucket_get_for(user=request.user, pk=pk)
        _admin_only(request, "set quotas")
        serializer = QuotaInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        bucket = services.bucket_set_quota(bucket=bucket, quota_bytes=serializer.validated_data["quota_bytes"],
                                           actor=request.user, request=request._request)
        return Response(BucketOutput(bucket).data)


def _credentials(user):
    identity = selectors.identity_for(user=user)
    key = services.current_key(identity) if identity is not None else None
    return {"state": identity.state if identity else State.PROVISIONING, "state_reason": identity.state_reason if identity else "",
            "access_key_id": key.access_key_id if key else None, "key_created": key.created if key else None,
            "secret_shown": bool(key and key.revealed), "rotation_requested": bool(identity and identity.rotate_requested),
            "endpoint_url": settings.PLATFORM_S3_PUBLIC_URL, "region": settings.PLATFORM_S3_REGION,
            "buckets": list(identity.policy_buckets) if identity else []}


@extend_schema(tags=["buckets"])
class CredentialsApi(APIView):
    """Your S3 identity: its state and current access key id (never the secret)."""

    @extend_schema(responses=CredentialsOutput)
    def get(self, request):
        return Response(CredentialsOutput(_credentials(request.user)).data)


@extend_schema(tags=["buckets"])
class CredentialsRotateApi(APIView):
    """Ask for a new key (202): the old one keeps working for PLATFORM_BUCKETS_KEY_GRACE_MINUTES."""

    @extend_schema(request=None, responses={202: CredentialsOutput})
    def post(self, request):
        services.credentials_request_rotation(user=request.user, actor=request.user, request=request._request)
        return Response(CredentialsOutput(_credentials(request.user)).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["buckets"])
class CredentialsRevealApi(APIView):
    """Your current key's secret, once per key (a second call is a 400: rotate for a new one)."""

    @extend_schema(request=None, responses=CredentialsRevealOutput)
    def post(self, request):
        key_id, secret = services.credentials_reveal(user=request.user, request=request._request)
        response = Response(CredentialsRevealOutput({"access_key_id": key_id, "secret_access_key": secret,
                                                     "endpoint_url": settings.PLATFORM_S3_PUBLIC_URL,
                                                     "region": settings.PLATFORM_S3_REGION}).data)
        response["Cache-Control"] = "no-store"
        return response
