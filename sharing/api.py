"""REST endpoints under /api/v1/shares/: thin, the rules live in sharing.services, sharing.live and the selectors.
A notebook the caller may not see is a 404 everywhere, whatever its id."""

from django.http import Http404, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.inputs import validated
from sharing import live, selectors, services
from sharing.models import Grant, NotebookCopy, SecretLink, Snapshot
from sharing.render import notebook_diff, notebook_parse
from sharing.serializers import (
    CopyInput, CopyOutput, DiffOutput, FileOutput, GrantChangeInput, GrantInput, GrantOutput, ShareLinkCreatedOutput, ShareLinkInput,
    ShareLinkOutput, LiveShareInput, LiveShareOutput, NotebookOutput, NotebookUpdateInput, PublishInput, SharedWithMeOutput,
    SnapshotOutput, VersionOutput,
)

TAGS = ["shares"]



@extend_schema(tags=TAGS)
class NotebookListApi(generics.ListAPIView):
    """Notebooks you published and those shared with you. POST publishes a notebook of your running workspace (a
    new shared notebook, or the next version of the one for that path): 202, a snapshot Celery takes."""

    serializer_class = NotebookOutput

    def get_queryset(self):
        return selectors.notebook_list_visible(user=self.request.user)

    @extend_schema(request=PublishInput, responses={202: SnapshotOutput})
    def post(self, request):
        data = validated(PublishInput, request)
        snapshot = services.notebook_publish(actor=request.user, workspace_id=data["workspace"], path=data["path"],
                                             message=data["message"], title=data["title"], attachments=data["attachments"],
                                             request=request._request)
        return Response(SnapshotOutput(snapshot).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=TAGS)
class NotebookDetailApi(APIView):
    @extend_schema(responses=NotebookOutput)
    def get(self, request, pk):
        notebook, _ = selectors.notebook_get_for(user=request.user, pk=pk)
        return Response(NotebookOutput(notebook).data)

    @extend_schema(request=NotebookUpdateInput, responses=NotebookOutput)
    def patch(self, request, pk):
        notebook, _ = selectors.notebook_get_for(user=request.user, pk=pk, at_least="owner")
        data = validated(NotebookUpdateInput, request)
        services.notebook_update(actor=request.user, notebook=notebook, request=request._request, **data)
        return Response(NotebookOutput(notebook).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        notebook, _ = selectors.notebook_get_for(user=request.user, pk=pk, at_least="owner")
        services.notebook_delete(actor=request.user, notebook=notebook, request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=TAGS)
class VersionListApi(generics.ListAPIView):
    """Every version, newest first: author, time, message."""

    serializer_class = VersionOutput

    def get_queryset(self):
        notebook, _ = selectors.notebook_get_for(user=self.request.user, pk=self.kwargs["pk"])
        return notebook.versions.order_by("-number").prefetch_related("files")


@extend_schema(tags=TAGS, responses={(200, "application/x-ipynb+json"): OpenApiTypes.OBJECT})
class VersionDownloadApi(APIView):
    """The version's .ipynb, as it was published."""

    def get(self, request, pk, number):
        notebook, _ = selectors.notebook_get_for(user=request.user, pk=pk)
        return notebook_download(notebook, selectors.version_get(notebook=notebook, number=number))


def notebook_download(notebook, version):
    response = HttpResponse(services.version_notebook_bytes(version), content_type="application/x-ipynb+json")
    name = notebook.path.rsplit("/", 1)[-1][:-6].replace('"', "")
    response["Content-Disposition"] = f'attachment; filename="{name}-v{version.number}.ipynb"'
    return response


@extend_schema(tags=TAGS, responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
class VersionFileDownloadApi(APIView):
    """A file attached to the version, as it was published (its path relative to the notebook's folder)."""

    def get(self, request, pk, number, file_path):
        notebook, _ = selectors.notebook_get_for(user=request.user, pk=pk)
        return file_download(selectors.version_file_get(version=selectors.version_get(notebook=notebook, number=number),
                                                        path=file_path))


def file_download(version_file):
    """An attached file is whatever its owner's workspace held: always a download, never rendered (octet-stream,
    nosniff, and a sandbox CSP should a browser render it anyway)."""
    response = HttpResponse(services.version_file_bytes(version_file), content_type="application/octet-stream")
    name = version_file.path.rsplit("/", 1)[-1].replace('"', "").replace("\r", "").replace("\n", "")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


def _int_param(request, name):
    value = request.query_params.get(name, "")
    if not value.isdigit() or len(value) > 9:
        raise serializers.ValidationError({name: "Give a version number."})
    return int(value)


@extend_schema(tags=TAGS, responses=DiffOutput, parameters=[
    OpenApiParameter("base", int, required=True, description="The older version's number."),
    OpenApiParameter("remote", int, required=True, description="The newer version's number."),
])
class DiffApi(APIView):
    """Cell-level differences between two versions (nbdime's notebook diff)."""

    def get(self, request, pk):
        notebook, _ = selectors.notebook_get_for(user=request.user, pk=pk)
        base, remote = _int_param(request, "base"), _int_param(request, "remote")
        return Response(DiffOutput(diff_of(notebook, base, remote)).data)


def diff_of(notebook, base, remote):
    old, new = (selectors.version_get(notebook=notebook, number=number) for number in (base, remote))
    changes = notebook_diff(*(notebook_parse(services.version_notebook_bytes(version)) for version in (old, new)))
    return {"base": base, "remote": remote, "cells": changes}


@extend_schema(tags=TAGS)
class GrantListApi(generics.ListAPIView):
    """Who the notebook is shared with (its owner only). POST shares it with a person (username) or a team (team)."""

    serializer_class = GrantOutput
    pagination_class = None

    def get_queryset(self):
        notebook, _ = selectors.notebook_get_for(user=self.request.user, pk=self.kwargs["pk"], at_least="owner")
        return notebook.grants.select_related("user", "team").order_by("created")

    @extend_schema(request=GrantInput, responses={201: GrantOutput})
    def post(self, request, pk):
        notebook, _ = selectors.notebook_get_for(user=request.user, pk=pk, at_least="owner")
        data = validated(GrantInput, request)
        grant = services.grant_add(actor=request.user, notebook=notebook, username=data.get("username"),
                                   team=data.get("team"), role=data["role"], request=request._request)
        return Response(GrantOutput(grant).data, status=status.HTTP_201_CREATED)


def _grant(request, pk, grant_id):
    notebook, _ = selectors.notebook_get_for(user=request.user, pk=pk, at_least="owner")
    grant = Grant.objects.select_related("user", "team", "notebook").filter(pk=grant_id, notebook=notebook).first()
    if grant is None:
        raise Http404
    return grant


@extend_schema(tags=TAGS)
class GrantDetailApi(APIView):
    @extend_schema(request=GrantChangeInput, responses=GrantOutput)
    def patch(self, request, pk, grant_id):
        grant = _grant(request, pk, grant_id)
        services.grant_change(actor=request.user, grant=grant, role=validated(GrantChangeInput, request)["role"],
                              request=request._request)
        return Response(GrantOutput(grant).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk, grant_id):
        services.grant_remove(actor=request.user, grant=_grant(request, pk, grant_id), request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=TAGS)
class LinkListApi(generics.ListAPIView):
    """Secret links of the notebook (its owner only). POST makes one; its URL is in that answer only."""

    serializer_class = ShareLinkOutput
    pagination_class = None

    def get_queryset(self):
        notebook, _ = selectors.notebook_get_for(user=self.request.user, pk=self.kwargs["pk"], at_least="owner")
        return notebook.links.all()

    @extend_schema(request=ShareLinkInput, responses={201: ShareLinkCreatedOutput})
    def post(self, request, pk):
        notebook, _ = selectors.notebook_get_for(user=request.user, pk=pk, at_least="owner")
        data = validated(ShareLinkInput, request)
        link, token = services.link_create(actor=request.user, notebook=notebook, expires_in_days=data["expires_in_days"],
                                           request=request._request)
        link.url = request.build_absolute_uri(reverse("sharing_link", args=[token]))
        return Response(ShareLinkCreatedOutput(link).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS, responses={204: None})
class LinkDetailApi(APIView):
    """Revoke the link: its next request is refused."""

    def delete(self, request, pk, link_id):
        notebook, _ = selectors.notebook_get_for(user=request.user, pk=pk, at_least="owner")
        link = SecretLink.objects.filter(pk=link_id, notebook=notebook).select_related("notebook").first()
        if link is None:
            raise Http404
        services.link_revoke(actor=request.user, link=link, request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _snapshot(request, snapshot_id):
    snapshot = Snapshot.objects.select_related("notebook", "version").filter(pk=snapshot_id, author=request.user).first()
    if snapshot is None:
        raise Http404
    return snapshot


@extend_schema(tags=TAGS, responses=SnapshotOutput)
class SnapshotDetailApi(APIView):
    """A publish request: queued, done (with its version) or failed (with why)."""

    def get(self, request, snapshot_id):
        return Response(SnapshotOutput(_snapshot(request, snapshot_id)).data)


@extend_schema(tags=TAGS, request=None, responses={202: SnapshotOutput})
class SnapshotRetryApi(APIView):
    """Take a failed snapshot again (e.g. after fixing the notebook or starting the workspace)."""

    def post(self, request, snapshot_id):
        snapshot = services.snapshot_retry(actor=request.user, snapshot=_snapshot(request, snapshot_id),
                                           request=request._request)
        return Response(SnapshotOutput(snapshot).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=TAGS, request=CopyInput, responses={202: CopyOutput})
class CopyApi(APIView):
    """Write a version into one of your running workspaces (role `copy`, or the owner). Never overwrites: a name
    that is taken gets ` (copy N)`."""

    def post(self, request, pk):
        notebook, role = selectors.notebook_get_for(user=request.user, pk=pk)
        data = validated(CopyInput, request)
        version = selectors.version_get(notebook=notebook, number=data["version"])
        copy = services.copy_request(actor=request.user, notebook=notebook, role=role, version=version,
                                     workspace_id=data["workspace"], request=request._request)
        return Response(CopyOutput(copy).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=TAGS, responses=CopyOutput)
class CopyDetailApi(APIView):
    def get(self, request, copy_id):
        copy = NotebookCopy.objects.select_related("version", "workspace", "workspace__owner").filter(
            pk=copy_id, actor=request.user).first()
        if copy is None:
            raise Http404
        return Response(CopyOutput(copy).data)


@extend_schema(tags=TAGS, responses=FileOutput(many=True), parameters=[
    OpenApiParameter("path", str, description="A folder of the home (default: the home itself)."),
])
class WorkspaceFilesApi(APIView):
    """The file picker: folders and notebooks of your running workspace, read through its server."""

    def get(self, request, workspace_id):
        files = services.workspace_files(actor=request.user, workspace_id=workspace_id,
                                         directory=request.query_params.get("path", ""))
        return Response(FileOutput(files, many=True).data)


@extend_schema(tags=TAGS, responses=SharedWithMeOutput)
class SharedWithMeApi(APIView):
    """Notebooks others shared with you, and their running workspaces you may open."""

    def get(self, request):
        return Response(SharedWithMeOutput({
            "notebooks": selectors.notebook_list_shared_with(user=request.user),
            "workspaces": selectors.live_shares_for_grantee(user=request.user)}).data)


@extend_schema(tags=TAGS)
class LiveShareListApi(generics.ListAPIView):
    """Live shares of your workspaces. POST shares a running workspace with a person (username) or each member of a
    team (team), optionally until `expires`, through JupyterHub's shares API."""

    serializer_class = LiveShareOutput
    pagination_class = None

    def get_queryset(self):
        return selectors.live_shares_of_owner(user=self.request.user)

    @extend_schema(request=LiveShareInput, responses={201: LiveShareOutput(many=True)})
    def post(self, request):
        data = validated(LiveShareInput, request)
        shares = live.live_share_grant(actor=request.user, workspace_id=data["workspace"], username=data.get("username"),
                                       team=data.get("team"), expires=data["expires"], request=request._request)
        return Response(LiveShareOutput(shares, many=True).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS, responses={204: None})
class LiveShareDetailApi(APIView):
    """Revoke: the hub refuses the grantee's next request."""

    def delete(self, request, share_id):
        share = live.live_share_get_for_owner(user=request.user, pk=share_id)
        live.live_share_revoke(actor=request.user, share=share, request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)
