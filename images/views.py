from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.accounts.models import Team
from portal.web.helpers import form_add_errors, platform_admin_required

from images import selectors, services, tasks
from images.forms import ApproveForm, DeprecateForm, ExceptionForm, LocalEnvironmentForm, PolicyForm, RobotForm
from images.models import Repository, RobotAccount, ScanException, ScanPolicy
from images.serializers import scan_summary


@login_required
def image_list(request):
    entries = selectors.catalog_for(request.user)
    q, package = request.GET.get("q", "").strip(), request.GET.get("package", "").strip()
    if q:
        entries = entries.filter(Q(repository__name__icontains=q) | Q(tag__icontains=q) | Q(manifest__title__icontains=q))
    if package:
        entries = entries.filter(manifest__packages__name__iexact=package)
    if request.GET.get("status"):
        entries = entries.filter(status=request.GET["status"])
    rows = [(entry, scan_summary(entry.manifest) if entry.manifest_id else None,
             selectors.key_packages(entry.manifest) if entry.manifest_id else [])
            for entry in entries.distinct().order_by("repository__name", "-created")]
    from django.conf import settings

    return render(request, "images/image_list.html", {
        "rows": rows, "q": q, "package": package, "status": request.GET.get("status", ""), "section": "images",
        "registry_configured": bool(settings.PLATFORM_REGISTRY_URL), "local_form": LocalEnvironmentForm()})


def _form_invalid(form):
    return ValidationError({field: [error["message"] for error in errors] for field, errors in form.errors.get_json_data().items()})


def _entry(request, pk):
    return get_object_or_404(selectors.catalog_for(request.user), pk=pk)


@login_required
def image_detail(request, pk):
    entry = _entry(request, pk)
    report = entry.manifest.latest_report if entry.manifest_id else None
    package_query = request.GET.get("package", "").strip()
    packages = entry.manifest.packages.all() if entry.manifest_id else []
    if package_query and entry.manifest_id:
        packages = packages.filter(name__icontains=package_query)
    return render(request, "images/image_detail.html", {
        "entry": entry, "pinned": selectors.pinned_reference(entry) if entry.kind == "local" or entry.manifest_id else "",
        "report": report, "findings": report.findings.all() if report else [], "scan": scan_summary(entry.manifest) if entry.manifest_id else None,
        "packages": packages[:500], "package_query": package_query,
        "other_tags": selectors.catalog_for(request.user).filter(repository=entry.repository).exclude(pk=entry.pk),
        "can_manage": selectors.can_curate(request.user, entry.repository),
        "approve_form": ApproveForm(initial={"all_teams": entry.all_teams, "recommended": entry.recommended}),
        "deprecate_form": DeprecateForm(entry=entry), "section": "images"})


@login_required
@require_POST
def image_action(request, pk, action):
    entry = _entry(request, pk)
    if not selectors.can_curate(request.user, entry.repository):
        raise PermissionDenied
    try:
        if action == "approve":
            form = ApproveForm(request.POST)
            if not form.is_valid():
                raise _form_invalid(form)
            services.image_approve(entry=entry, actor=request.user, all_teams=form.cleaned_data["all_teams"],
                                   teams=list(form.cleaned_data["teams"]), recommended=form.cleaned_data["recommended"], request=request)
        elif action == "deprecate":
            form = DeprecateForm(request.POST, entry=entry)
            if not form.is_valid():
                raise _form_invalid(form)
            services.image_deprecate(entry=entry, actor=request.user, replacement=form.cleaned_data["replacement"],
                                     message=form.cleaned_data["message"], request=request)
        elif action == "retire":
            services.image_retire(entry=entry, actor=request.user, request=request)
        else:
            raise PermissionDenied
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{entry.reference}: {action}d." if action != "approve" else f"{entry.reference} approved.")
    return redirect("image_detail", pk=entry.pk)


@platform_admin_required
@require_POST
def catalog_sync(request):
    transaction.on_commit(tasks.catalog_sync_task.delay)
    messages.success(request, "Catalog sync queued; refresh in a moment.")
    return redirect("image_list")


@platform_admin_required
@require_POST
def local_environment_create(request):
    form = LocalEnvironmentForm(request.POST)
    if form.is_valid():
        try:
            entry = services.local_environment_save(actor=request.user, request=request, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{entry.reference} added: approve it to offer it.")
            return redirect("image_detail", pk=entry.pk)
    else:
        messages.error(request, "Give a name and a python path.")
    return redirect("image_list")


@platform_admin_required
def robot_list(request):
    form = RobotForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            robot, secret = services.robot_create(actor=request.user, request=request, **form.cleaned_data)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            created, form = (robot, secret), RobotForm()
    return render(request, "images/robot_list.html", {"robots": RobotAccount.objects.select_related("created_by"),
                                                       "form": form, "created": created, "section": "manage"})


@platform_admin_required
@require_POST
def robot_revoke(request, pk):
    robot = services.robot_revoke(robot=get_object_or_404(RobotAccount, pk=pk), actor=request.user, request=request)
    messages.success(request, f"{robot.username} revoked.")
    return redirect("image_robots")


@platform_admin_required
def scan_policy(request):
    team = get_object_or_404(Team, slug=request.GET["team"]) if request.GET.get("team") else None
    current = ScanPolicy.objects.filter(team=team).first() or ScanPolicy(team=team)
    policy_form = PolicyForm(request.POST if request.POST.get("form") == "policy" else None,
                             initial={"block_threshold": current.block_threshold, "allow_unscanned": current.allow_unscanned})
    exception_form = ExceptionForm(request.POST if request.POST.get("form") == "exception" else None)
    if request.method == "POST" and policy_form.is_bound and policy_form.is_valid():
        services.scan_policy_save(team=team, actor=request.user, request=request, **policy_form.cleaned_data)
        messages.success(request, f"Scan policy of {team or 'the platform'} saved.")
        return redirect(request.get_full_path())
    if request.method == "POST" and exception_form.is_bound and exception_form.is_valid():
        data = exception_form.cleaned_data
        repository = Repository.objects.filter(name=data["repository"]).first() if data["repository"] else None
        try:
            if data["repository"] and repository is None:
                raise ValidationError({"repository": f"No repository {data['repository']!r} in the catalog."})
            services.scan_exception_create(vulnerability_id=data["vulnerability_id"], justification=data["justification"],
                                           expires=data["expires"], repository=repository, team=data["team"],
                                           actor=request.user, request=request)
        except ValidationError as exc:
            form_add_errors(exception_form, exc)
        else:
            messages.success(request, f"Exception for {data['vulnerability_id']} granted.")
            return redirect("image_policy")
    return render(request, "images/policy.html", {
        "team": team, "teams": Team.objects.all(), "policy_form": policy_form, "exception_form": exception_form,
        "team_policies": ScanPolicy.objects.filter(team__isnull=False).select_related("team"),
        "exceptions": ScanException.objects.select_related("repository", "team", "created_by"), "section": "manage"})


@platform_admin_required
@require_POST
def scan_exception_revoke(request, pk):
    services.scan_exception_revoke(exception=get_object_or_404(ScanException, pk=pk), actor=request.user, request=request)
    messages.success(request, "Exception revoked.")
    return redirect("image_policy")
