from datetime import datetime, time as dt_time, timezone as dt_timezone
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from costs import charts, selectors, services
from costs.alerts import budget_stop_for
from costs.currencies import format_money
from costs.forms import BudgetForm, GrantForm, PriceSheetForm, ProjectBudgetForm
from costs.metering import cost_so_far_micros
from costs.models import BudgetGrant, PriceSheet
from costs.periods import period_bounds
from costs.pricing import micros_to_minor
from portal.accounts.models import Membership, Team
from portal.accounts.selectors import team_can_manage, team_list_for
from portal.web.helpers import form_add_errors, platform_admin_required
from projects.selectors import project_can_manage, project_get_for
from workspaces.selectors import workspace_list_for


def _currency():
    return settings.PLATFORM_CURRENCY


@login_required
def costs_home(request):
    teams = []
    for team in team_list_for(user=request.user):
        if request.user.is_platform_admin or team.my_role == Membership.Role.ADMIN:
            budget = selectors.budget_for(team=team)
            teams.append({"team": team, "status": services.budget_status(budget) if budget else None})

    workspaces = list(workspace_list_for(user=request.user))
    so_far = cost_so_far_micros(workspace_ids=[w.pk for w in workspaces])
    mine = [{"workspace": w, "cost": micros_to_minor(so_far.get(w.pk, 0))} for w in workspaces]
    return render(request, "costs/home.html", {"teams": teams, "mine": mine, "currency": _currency(), "section": "costs"})


def _managed_team(request, team_id):
    team = get_object_or_404(Team, pk=team_id)
    if not team_can_manage(user=request.user, team=team):
        raise Http404
    return team


@login_required
def team_costs(request, team_id):
    team = _managed_team(request, team_id)
    budget = selectors.budget_for(team=team)
    now = timezone.now()
    start, end = period_bounds(now, time_zone=team.time_zone, start_day=budget.period_start_day if budget else 1)
    status = services.budget_status(budget, now) if budget else None
    context = {
        "team": team, "budget": budget, "status": status, "currency": _currency(),
        **_period_reports(team, start, end, status, now),
        "grants": BudgetGrant.objects.filter(team=team, ends__gt=now).select_related("created_by"),
        "budget_stop": budget_stop_for(team_id=team.pk), "section": "costs",
    }
    if request.user.is_platform_admin:
        initial = {"time_zone": team.time_zone}
        if budget:
            initial |= {"amount": budget.amount, "thresholds": ", ".join(map(str, budget.thresholds)), "action": budget.action,
                        "grace_minutes": budget.grace_minutes, "period_start_day": budget.period_start_day}
        context["budget_form"] = BudgetForm(initial=initial)
        context["grant_form"] = GrantForm()
    return render(request, "costs/team.html", context)


def _period_reports(team, start, end, status, now, project=None):
    """What a cost page shows of a period (a team's, or one project's of it): the spend chart against the
    budget, spend by user and by size, and each workspace's cost."""
    def report(group_by):
        return selectors.cost_report(team=team, start=start, end=end, group_by=group_by, project=project)

    by_day, total = report("day")
    zone = ZoneInfo(team.time_zone)
    days = [(datetime.combine(datetime.fromisoformat(g["key"]).date(), dt_time(), tzinfo=zone), g["cost"]) for g in by_day]
    spend = charts.spend_chart(days=days, period_start=start.astimezone(zone), period_end=end.astimezone(zone),
                               limit=status["limit"] if status else 0, forecast=status["forecast"] if status else total,
                               today=now.astimezone(zone))
    return {"total": total, "period_start": start, "period_end": end, "spend": spend,
            "by_user": charts.bar_chart(report("user")[0]), "by_profile": charts.bar_chart(report("profile")[0]),
            "by_workspace": report("workspace")[0]}


def _managed_project(request, pk):
    """Project costs are for its owners, the team's admins and platform admins; to anyone else it does not exist."""
    project = project_get_for(user=request.user, pk=pk)
    if not project_can_manage(user=request.user, project=project):
        raise Http404
    return project


@login_required
def project_costs(request, pk):
    project = _managed_project(request, pk)
    team, now = project.team, timezone.now()
    start, end = services.project_budget_period(project, now)
    budget = selectors.project_budget_for(project=project)
    status = services.project_budget_status(budget, now) if budget else None
    context = {
        "project": project, "team": team, "budget": budget, "status": status, "currency": _currency(),
        **_period_reports(team, start, end, status, now, project=project), "section": "projects",
    }
    if team_can_manage(user=request.user, team=team):
        initial = {"amount": budget.amount, "thresholds": ", ".join(map(str, budget.thresholds))} if budget else {}
        context["budget_form"] = ProjectBudgetForm(initial=initial)
    return render(request, "costs/project.html", context)


@login_required
@require_POST
def project_budget_edit(request, pk):
    project = _managed_project(request, pk)
    if not team_can_manage(user=request.user, team=project.team):
        raise Http404
    form = ProjectBudgetForm(request.POST)
    if form.is_valid():
        try:
            services.project_budget_set(project=project, actor=request.user, request=request, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"The budget of project {project.name} was saved.")
    else:
        messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
    return redirect("costs_project", pk=project.pk)


@platform_admin_required
def budget_edit(request, team_id):
    team = get_object_or_404(Team, pk=team_id)
    form = BudgetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.budget_set(team=team, actor=request.user, request=request, **form.cleaned_data)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, f"The budget of {team.name} was saved.")
            return redirect("costs_team", team_id=team.pk)
    return render(request, "costs/budget_form.html", {"team": team, "form": form, "section": "costs"})


@platform_admin_required
@require_POST
def grant_create(request, team_id):
    team = get_object_or_404(Team, pk=team_id)
    form = GrantForm(request.POST)
    if form.is_valid():
        try:
            services.budget_grant_create(team=team, actor=request.user, request=request, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{team.name} gets {format_money(form.cleaned_data['amount'], _currency())} more "
                                      f"until {form.cleaned_data['ends']:%Y-%m-%d %H:%M} UTC.")
    else:
        messages.error(request, "The grant needs an amount, an end and a reason.")
    return redirect("costs_team", team_id=team.pk)


@platform_admin_required
def price_list(request):
    form = PriceSheetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        gpu_hour = data.pop("gpu_hour_by_type")
        default = data.pop("gpu_hour_default") or 0
        if default or not gpu_hour:
            gpu_hour[""] = default
        if data.get("effective_from") and timezone.is_naive(data["effective_from"]):
            data["effective_from"] = timezone.make_aware(data["effective_from"], dt_timezone.utc)
        try:
            services.price_sheet_create(actor=request.user, request=request, gpu_hour=gpu_hour, **data)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, "The new prices were saved.")
            return redirect("costs_prices")
    current = services.price_sheet_at()
    return render(request, "costs/prices.html", {"form": form, "sheets": PriceSheet.objects.all()[:50], "current": current,
                                                 "currency": _currency(), "section": "manage"})
