"""Project pages: thin; the rules live in services and selectors."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal.web.helpers import form_add_errors, platform_admin_required
from projects import selectors, services, templates
from projects.forms import ProjectForm, StageForm, TemplateForm
from projects.stages import STAGES


@login_required
def project_list(request):
    form = ProjectForm(request.POST or None, user=request.user, initial={"whole_team": True})
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(actor=request.user, request=request, **form.service_arguments())
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, f"Project {project.name} was created.")
            return redirect("project_detail", pk=project.pk)
    projects = selectors.project_list_for(user=request.user)
    return render(request, "projects/project_list.html", {"projects": projects, "form": form, "section": "projects"})


def _timeline(project):
    """Every stage in order, with the date it was last entered (None: not reached yet) and whether it is current."""
    entered = {}
    for change in project.stage_changes.all():
        entered[change.stage] = change
    return [{"stage": stage, "change": entered.get(stage.value), "current": stage.value == project.stage} for stage in STAGES]


@login_required
def project_detail(request, pk):
    project = selectors.project_get_for(user=request.user, pk=pk)
    can_manage = selectors.project_can_manage(user=request.user, project=project)
    context = {
        "project": project, "can_manage": can_manage, "timeline": _timeline(project),
        "history": list(project.stage_changes.all()), "members": selectors.project_member_usernames(project=project),
        "stage_form": StageForm(initial={"stage": project.stage}) if can_manage and not project.is_archived else None,
        "workspaces": project.workspaces.exclude(desired_state="deleted").select_related("owner", "profile"),
        # The project's data (the buckets app makes it with the project; only its members' keys open it).
        "data_bucket": project.buckets.filter(kind="project").first(),
        "is_member": selectors.project_is_member(user=request.user, project=project),
        "section": "projects",
    }
    return render(request, "projects/project_detail.html", context)


@login_required
def project_edit(request, pk):
    project = selectors.project_get_for(user=request.user, pk=pk)
    if not selectors.project_can_manage(user=request.user, project=project):
        raise PermissionDenied
    initial = {"name": project.name, "description": project.description, "repository_url": project.repository_url,
               "board_url": project.board_url, "whole_team": project.whole_team,
               "owners": list(project.owners.all()), "members": list(project.members.all())}
    form = ProjectForm(request.POST or None, user=request.user, project=project, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.project_update(project=project, actor=request.user, request=request, **form.service_arguments())
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, f"Project {project.name} was saved.")
            return redirect("project_detail", pk=project.pk)
    return render(request, "projects/project_edit.html", {"project": project, "form": form, "section": "projects"})


@login_required
@require_POST
def project_stage(request, pk):
    project = selectors.project_get_for(user=request.user, pk=pk)
    form = StageForm(request.POST)
    if form.is_valid():
        try:
            services.project_set_stage(project=project, actor=request.user, stage=form.cleaned_data["stage"], request=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{project.name} is now in stage {dict(form.fields['stage'].choices)[form.cleaned_data['stage']]}.")
    return redirect("project_detail", pk=project.pk)


@login_required
@require_POST
def project_archive(request, pk, action):
    project = selectors.project_get_for(user=request.user, pk=pk)
    if action not in ("archive", "restore"):
        raise PermissionDenied
    services.project_set_archived(project=project, actor=request.user, archived=action == "archive", request=request)
    messages.success(request, f"{project.name} was {'archived: it is read-only now' if action == 'archive' else 'restored'}.")
    return redirect("project_detail", pk=project.pk)


@platform_admin_required
def template_list(request):
    form = TemplateForm(request.POST or None)
    if request.method == "POST" and request.POST.get("default"):
        try:
            templates.template_set_default(actor=request.user, name=request.POST["default"], request=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("project_templates")
    if request.method == "POST" and form.is_valid():
        try:
            template = templates.template_register(actor=request.user, request=request, **form.cleaned_data)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, f"Template {template.name} was registered.")
            return redirect("project_templates")
    return render(request, "projects/template_list.html", {
        "form": form, "templates": selectors.template_list(), "default": templates.template_resolve("")[0],
        "builtin": templates.BUILTIN_NAME, "section": "manage"})
