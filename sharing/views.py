"""Sharing pages: thin; the rules live in services, live and selectors.

A rendered notebook is untrusted HTML. It is only ever served by `_rendered`: with a CSP whose `sandbox` directive
gives it an opaque origin and allows no script at all (`default-src 'none'`, no `script-src`), framed only by the
portal's own pages, which show it in an `<iframe sandbox>` (no allow-scripts, no allow-same-origin). So even
markup that slipped past nbconvert's sanitiser runs nothing, and never in the portal's origin.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from csp.decorators import csp_exempt
from portal.web.helpers import messages_add_errors
from sharing import live, selectors, services
from sharing.api import diff_of, file_download, notebook_download
from sharing.models import Grant, NotebookCopy, Role, SecretLink, Snapshot
from workspaces.selectors import workspace_list_for

RENDERED_CSP = ("sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
                "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")



def _running_workspaces(user):
    return [workspace for workspace in workspace_list_for(user=user) if workspace.status == "running"]


@login_required
def share_list(request):
    context = {
        "mine": selectors.notebook_list_visible(user=request.user).filter(owner=request.user),
        "shared": selectors.notebook_list_shared_with(user=request.user),
        "live_shared": selectors.live_shares_for_grantee(user=request.user),
        "live_mine": selectors.live_shares_of_owner(user=request.user),
        "workspaces": _running_workspaces(request.user),
        "section": "shares",
    }
    return render(request, "sharing/share_list.html", context)


@login_required
def publish(request):
    """Pick a running workspace, browse its folders, pick a notebook, publish it."""
    workspaces = _running_workspaces(request.user)
    source = request.POST if request.method == "POST" else request.GET
    workspace_id = source.get("workspace", "")
    workspace_id = int(workspace_id) if workspace_id.isdigit() and len(workspace_id) < 12 else None
    if workspace_id is None and len(workspaces) == 1:
        workspace_id = workspaces[0].pk
    if request.method == "POST":
        try:
            snapshot = services.notebook_publish(actor=request.user, workspace_id=workspace_id, path=source.get("path", ""),
                                                 message=source.get("message", ""), title=source.get("title", ""),
                                                 attachments=source.get("attachments", ""), request=request)
        except ValidationError as exc:
            messages_add_errors(request, exc)
        else:
            messages.success(request, "Publishing: the snapshot is being taken.")
            return redirect("sharing_notebook", pk=snapshot.notebook_id)
    folder, files = source.get("folder", ""), []
    if workspace_id is not None:
        try:
            files = services.workspace_files(actor=request.user, workspace_id=workspace_id, directory=folder)
        except ValidationError as exc:
            messages_add_errors(request, exc)
    parent = folder.rstrip("/").rsplit("/", 1)[0] if "/" in folder.strip("/") else ""
    # From JupyterLab's "Share…" (workspaces/lab): the notebook in front, to confirm here with the portal session.
    chosen = source.get("path", "") if request.method == "GET" else ""
    return render(request, "sharing/publish.html", {
        "workspaces": workspaces, "workspace_id": workspace_id, "folder": folder.strip("/"), "parent": parent,
        "files": files, "chosen": chosen[:500], "section": "shares"})


def _notebook_context(request, notebook, role, number=None):
    versions = list(notebook.versions.order_by("-number"))
    version = selectors.version_get(notebook=notebook, number=number) if (versions or number) else None
    context = {"notebook": notebook, "role": role, "version": version, "versions": versions,
               "can_copy": role in ("copy", "owner"), "is_owner": role == "owner", "section": "shares",
               "workspaces": _running_workspaces(request.user) if role in ("copy", "owner") else []}
    if role == "owner":
        context.update({
            "snapshots": notebook.snapshots.exclude(state=Snapshot.State.DONE)[:5],
            "grants": notebook.grants.select_related("user", "team").order_by("created"),
            "links": notebook.links.all(), "roles": Role.values,
        })
    return context


@login_required
def notebook_page(request, pk, number=None):
    notebook, role = selectors.notebook_get_for(user=request.user, pk=pk)
    return render(request, "sharing/notebook.html", _notebook_context(request, notebook, role, number))


@login_required
@csp_exempt()
@xframe_options_sameorigin
def version_render(request, pk, number):
    return _rendered(request, selectors.version_get_for(user=request.user, pk=pk, number=number))


def _rendered(request, version):
    etag = f'"{version.html_sha256}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = FileResponse(services.version_html_path(version).open("rb"), content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = RENDERED_CSP
    response["ETag"] = etag
    # Content-addressed: a version's rendering never changes, but who may see it does: private, revalidated.
    response["Cache-Control"] = "private, no-cache"
    return response


@login_required
def version_download(request, pk, number):
    notebook, _ = selectors.notebook_get_for(user=request.user, pk=pk)
    return notebook_download(notebook, selectors.version_get(notebook=notebook, number=number))


@login_required
def version_file(request, pk, number, file_path):
    notebook, _ = selectors.notebook_get_for(user=request.user, pk=pk)
    version = selectors.version_get(notebook=notebook, number=number)
    return file_download(selectors.version_file_get(version=version, path=file_path))


@login_required
def diff_page(request, pk):
    notebook, role = selectors.notebook_get_for(user=request.user, pk=pk)
    numbers = list(notebook.versions.order_by("number").values_list("number", flat=True))
    base, remote = request.GET.get("base", ""), request.GET.get("remote", "")
    if not (base.isdigit() and remote.isdigit()) and len(numbers) >= 2:
        base, remote = str(numbers[-2]), str(numbers[-1])
    if not (base.isdigit() and remote.isdigit() and len(base) < 10 and len(remote) < 10):
        raise Http404("Pick two versions.")
    diff = diff_of(notebook, int(base), int(remote))
    return render(request, "sharing/diff.html", {"notebook": notebook, "diff": diff, "numbers": numbers, "section": "shares"})


def _owned(request, pk):
    notebook, _ = selectors.notebook_get_for(user=request.user, pk=pk, at_least="owner")
    return notebook


@login_required
@require_POST
def grant_add(request, pk):
    notebook = _owned(request, pk)
    try:
        services.grant_add(actor=request.user, notebook=notebook, username=request.POST.get("username", "").strip() or None,
                           team=request.POST.get("team", "").strip() or None, role=request.POST.get("role", "view"),
                           request=request)
    except ValidationError as exc:
        messages_add_errors(request, exc)
    else:
        messages.success(request, "Shared. They get an e-mail.")
    return redirect("sharing_notebook", pk=pk)


@login_required
@require_POST
def grant_remove(request, pk, grant_id):
    notebook = _owned(request, pk)
    grant = get_object_or_404(Grant.objects.select_related("user", "team", "notebook"), pk=grant_id, notebook=notebook)
    services.grant_remove(actor=request.user, grant=grant, request=request)
    messages.success(request, "No longer shared with them.")
    return redirect("sharing_notebook", pk=pk)


@login_required
@require_POST
def everyone(request, pk):
    notebook = _owned(request, pk)
    try:
        services.notebook_update(actor=request.user, notebook=notebook, everyone_role=request.POST.get("everyone_role", ""),
                                 request=request)
    except ValidationError as exc:
        messages_add_errors(request, exc)
    return redirect("sharing_notebook", pk=pk)


@login_required
@require_POST
def link_create(request, pk):
    notebook = _owned(request, pk)
    days = request.POST.get("expires_in_days", "").strip()
    try:
        _, token = services.link_create(actor=request.user, notebook=notebook, request=request,
                                        expires_in_days=int(days) if days.isdigit() and len(days) < 5 else (None if not days else -1))
    except ValidationError as exc:
        messages_add_errors(request, exc)
    else:
        messages.success(request, f"Secret link (shown once): {request.build_absolute_uri(reverse('sharing_link', args=[token]))}")
    return redirect("sharing_notebook", pk=pk)


@login_required
@require_POST
def link_revoke(request, pk, link_id):
    notebook = _owned(request, pk)
    link = get_object_or_404(SecretLink.objects.select_related("notebook"), pk=link_id, notebook=notebook)
    services.link_revoke(actor=request.user, link=link, request=request)
    messages.success(request, "The link is revoked.")
    return redirect("sharing_notebook", pk=pk)


@login_required
@require_POST
def snapshot_retry(request, pk, snapshot_id):
    notebook = _owned(request, pk)
    snapshot = get_object_or_404(Snapshot.objects.select_related("notebook"), pk=snapshot_id, notebook=notebook,
                                 author=request.user)
    services.snapshot_retry(actor=request.user, snapshot=snapshot, request=request)
    return redirect("sharing_notebook", pk=pk)


@login_required
@require_POST
def copy_create(request, pk):
    notebook, role = selectors.notebook_get_for(user=request.user, pk=pk)
    number, workspace = request.POST.get("version", ""), request.POST.get("workspace", "")
    try:
        version = selectors.version_get(notebook=notebook, number=int(number) if number.isdigit() and len(number) < 10 else None)
        copy = services.copy_request(actor=request.user, notebook=notebook, role=role, version=version, request=request,
                                     workspace_id=int(workspace) if workspace.isdigit() and len(workspace) < 12 else None)
    except ValidationError as exc:
        messages_add_errors(request, exc)
        return redirect("sharing_notebook", pk=pk)
    return redirect("sharing_copy", copy_id=copy.pk)


@login_required
def copy_page(request, copy_id):
    copy = NotebookCopy.objects.select_related("version__notebook", "workspace__owner").filter(pk=copy_id, actor=request.user).first()
    if copy is None:
        raise Http404
    lab_url = f"{copy.workspace.lab_url}/tree/{copy.path}" if copy.path else ""
    return render(request, "sharing/copy.html", {"copy": copy, "lab_url": lab_url, "section": "shares"})


def _by_link(function):
    """A view of what a secret link opens: (request, notebook, its latest version, token); 410 with the reason for a
    revoked or expired link, 404 for an unknown one."""
    @wraps(function)
    def view(request, token, **kwargs):
        try:
            notebook = services.link_resolve(token)
        except services.LinkGone as exc:
            return render(request, "sharing/link_gone.html", {"message": str(exc)}, status=410)
        return function(request, notebook, selectors.version_get(notebook=notebook), token, **kwargs)
    return view


@_by_link
def link_page(request, notebook, version, token):
    return render(request, "sharing/link.html", {"notebook": notebook, "version": version, "token": token})


@csp_exempt()
@xframe_options_sameorigin
@_by_link
def link_render(request, notebook, version, token):
    return _rendered(request, version)


@_by_link
def link_download(request, notebook, version, token):
    return notebook_download(notebook, version)


@_by_link
def link_file(request, notebook, version, token, file_path):
    return file_download(selectors.version_file_get(version=version, path=file_path))


@login_required
@require_POST
def live_grant(request):
    workspace, expires = request.POST.get("workspace", ""), request.POST.get("expires", "").strip()
    try:
        when = parse_datetime(expires) if expires else None
        if expires and when is None:
            raise ValidationError({"expires": "Give a date and time, e.g. 2026-12-31T18:00."})
        if when is not None and when.tzinfo is None:
            from django.utils import timezone

            when = timezone.make_aware(when, timezone.utc)
        live.live_share_grant(actor=request.user, workspace_id=int(workspace) if workspace.isdigit() and len(workspace) < 12 else None,
                              username=request.POST.get("username", "").strip() or None,
                              team=request.POST.get("team", "").strip() or None, expires=when, request=request)
    except ValidationError as exc:
        messages_add_errors(request, exc)
    else:
        messages.success(request, "Shared live: they can open the workspace now.")
    return redirect("sharing_list")


@login_required
@require_POST
def live_revoke(request, share_id):
    share = live.live_share_get_for_owner(user=request.user, pk=share_id)
    try:
        live.live_share_revoke(actor=request.user, share=share, request=request)
    except ValidationError as exc:
        messages_add_errors(request, exc)
    else:
        messages.success(request, "The live share has ended.")
    return redirect("sharing_list")
