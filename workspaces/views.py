from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from workspaces.hub import server_public_url
from portal.web.helpers import form_add_errors, platform_admin_required
from workspaces import culling_services, profiles, project_files, selectors, services
from workspaces.forms import ProfileForm, WorkspaceCreateForm
from workspaces.models import Profile



@login_required
def workspace_list(request):
    initial = {"project": request.GET.get("project"), "project_files": True}
    if request.GET.get("image"):  # "Launch a workspace with it" from a finished image build
        initial["image"] = request.GET["image"]
    form = WorkspaceCreateForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            workspace = services.workspace_create(owner=request.user, name=form.cleaned_data["name"],
                                                  profile=form.cleaned_data["profile"], team=form.cleaned_data["team"],
                                                  image=form.cleaned_data["image"], project=form.cleaned_data["project"],
                                                  project_files=form.cleaned_data["project_files"], request=request)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, f"Workspace {workspace.name} is starting.")
            return _progress_page(workspace, open_lab=form.cleaned_data["open_lab"])
    workspaces = selectors.workspace_list_for(user=request.user)
    return render(request, "workspaces/workspace_list.html", {"form": form, "workspaces": workspaces, "section": "workspaces"})


def _progress_page(workspace, *, open_lab):
    """The workspace's page; with `open_lab`, it opens JupyterLab by itself once the server answers (as
    JupyterHub's own spawn page does): the person asked for the lab, not for a page with a link to it."""
    response = redirect("workspace_detail", pk=workspace.pk)
    if open_lab:
        response["Location"] += "?open=lab"  # read by workspace_detail and web/workspaces.js
    return response


def _own(request, pk):
    return get_object_or_404(selectors.workspace_list_for(user=request.user), pk=pk)


@login_required
def workspace_detail(request, pk):
    workspace = _own(request, pk)
    return render(request, "workspaces/workspace_detail.html",
                  {"workspace": workspace, "events": workspace.events.all()[:200], "section": "workspaces",
                   "open_lab_when_ready": request.GET.get("open") == "lab",
                   "budget_stop": selectors.workspace_budget_stop(workspace=workspace)})


@login_required
@require_POST
def workspace_action(request, pk, action):
    workspace = _own(request, pk)
    service = {"start": services.workspace_request_start, "stop": services.workspace_request_stop,
               "restart": services.workspace_request_restart}.get(action)
    if action == "delete":
        delete_home = request.POST.get("delete_home") == "on"
        services.workspace_request_delete(workspace=workspace, actor=request.user, delete_home=delete_home)
        messages.success(request, f"Workspace {workspace.name} is being deleted"
                                  + (" with its home." if delete_home else "; its home is kept."))
        return redirect("workspace_list")
    if action == "project-files":
        try:
            template = project_files.workspace_add_project_files(workspace=workspace, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"The {template} template's files are on their way to ~/{workspace.project.slug}.")
        return redirect("workspace_detail", pk=workspace.pk)
    if action == "keep-running":
        try:
            culling_services.workspace_keep_running(workspace=workspace, actor=request.user)
        except culling_services.KeepRunningRefused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{workspace.name} keeps running.")
        return redirect("workspace_detail", pk=workspace.pk)
    if service is None:
        raise Http404
    try:
        service(workspace=workspace, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, {"start": "Starting", "stop": "Stopping", "restart": "Restarting"}[action] + f" {workspace.name}.")
        if action == "start":
            return _progress_page(workspace, open_lab=request.POST.get("open_lab") == "on")
    return redirect("workspace_detail", pk=workspace.pk)


@login_required
def stopped_server(request, username, server_name, rest=""):
    """The proxy sends /user/… here when no server answers: point the person to the workspace."""
    workspace = selectors.workspace_for_hub_server(username=username, server_name=server_name)
    if workspace is None or workspace.owner_id != request.user.pk:
        raise Http404("No such workspace.")
    if workspace.status == "running" and settings.PLATFORM_WORKSPACE_SUBDOMAINS:
        # An address on the portal's host (a bookmark from before per-user subdomains): the server is on its own.
        return redirect(server_public_url(settings.PLATFORM_PUBLIC_URL, username, server_name, subdomains=True, path=rest))
    messages.info(request, f"Workspace {workspace.name} is not running. Start it to open JupyterLab.")
    return redirect("workspace_detail", pk=workspace.pk)


def _profile_fields(form):
    data = dict(form.cleaned_data)
    data["memory_bytes"], data["disk_bytes"] = data.pop("memory"), data.pop("disk")
    data["hourly_price_hint"] = data["hourly_price_hint"] or 0
    return data


@platform_admin_required
def profile_list(request):
    form = ProfileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            profile = profiles.profile_save(actor=request.user, request=request, **_profile_fields(form))
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, f"Profile {profile.name} was created.")
            return redirect("profile_list")
    return render(request, "workspaces/profile_list.html",
                  {"form": form, "profiles": Profile.objects.prefetch_related("teams"), "section": "manage"})


@platform_admin_required
def profile_edit(request, pk):
    profile = get_object_or_404(Profile, pk=pk)
    if request.method == "POST" and request.POST.get("action") == "delete":
        try:
            profiles.profile_delete(actor=request.user, profile=profile, request=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("profile_edit", pk=profile.pk)
        messages.success(request, f"Profile {profile.name} was deleted.")
        return redirect("profile_list")
    form = ProfileForm(request.POST or None, initial=profiles.profile_form_initial(profile))
    if request.method == "POST" and form.is_valid():
        try:
            profile = profiles.profile_save(actor=request.user, profile=profile, request=request, **_profile_fields(form))
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, f"Profile {profile.name} was saved.")
            return redirect("profile_list")
    return render(request, "workspaces/profile_edit.html", {"form": form, "profile": profile, "section": "manage"})
