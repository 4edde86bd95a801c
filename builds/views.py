"""Image build pages: thin; the rules live in builds.services. The build page follows the log through the API
(builds.js), like a launch's progress."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from builds import selectors, services
from images.selectors import launch_choices
from portal.accounts.models import Membership
from portal.web.helpers import messages_add_errors
from workspaces.selectors import workspace_list_for



@login_required
def build_list(request):
    """Your builds, and the form for a new one: a folder of a running workspace, a base, a name."""
    user = request.user
    if request.method == "POST":
        source = request.POST
        workspace = source.get("workspace", "")
        try:
            build = services.build_custom_request(
                actor=user, workspace_id=int(workspace) if workspace.isdigit() and len(workspace) < 12 else None,
                folder=source.get("folder", ""), base=source.get("base", ""), name=source.get("name", ""),
                team=source.get("team", ""), request=request)
        except ValidationError as exc:
            messages_add_errors(request, exc)
        else:
            return redirect("build_detail", pk=build.pk)
    workspaces = [workspace for workspace in workspace_list_for(user=user) if workspace.status == "running"]
    bases = {}
    for team in {workspace.team_id: workspace.team for workspace in workspaces}.values():  # once per team
        for choice in launch_choices(user=user, team=team):
            if choice.entry.kind == "image" and not choice.blocked and not choice.deprecated:
                bases[choice.entry.pk] = choice.entry
    return render(request, "builds/build_list.html", {
        "builds": selectors.builds_for(user)[:50], "workspaces": workspaces, "bases": list(bases.values()),
        "admin_teams": [m.team for m in Membership.objects.filter(user=user, role=Membership.Role.ADMIN).select_related("team")],
        "member_teams": [m.team for m in Membership.objects.filter(user=user).select_related("team")],
        "unavailable": services.builds_unavailable(), "form": request.POST, "section": "images"})


@login_required
def build_detail(request, pk):
    build = selectors.build_get_for(user=request.user, pk=pk)
    return render(request, "builds/build_detail.html", {
        "build": build, "member_teams": [m.team for m in Membership.objects.filter(user=request.user).select_related("team")],
        "section": "images"})


@login_required
@require_POST
def build_cancel(request, pk):
    build = selectors.build_get_for(user=request.user, pk=pk)
    services.build_cancel(actor=request.user, build=build, request=request)
    messages.success(request, "The build is being cancelled.")
    return redirect("build_detail", pk=pk)


@login_required
@require_POST
def build_propose(request, pk):
    build = selectors.build_get_for(user=request.user, pk=pk)
    try:
        target = services.build_propose(actor=request.user, build=build, team_slug=request.POST.get("team", ""), request=request)
    except ValidationError as exc:
        messages_add_errors(request, exc)
    else:
        messages.success(request, f"Proposed as {target}:{build.tag}: a team admin approves it in the catalog.")
    return redirect("build_detail", pk=pk)
