"""REST endpoints for prices, budgets, grants and cost reports. Thin: rules live in services."""

import csv
import io
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from costs import selectors, services
from costs.models import BudgetGrant, PriceSheet
from costs.periods import period_bounds
from costs.serializers import (
    BudgetGrantInput, BudgetGrantOutput, BudgetInput, BudgetOutput, CostReportOutput, CostReportQuery,
    PriceSheetInput, PriceSheetOutput, ProjectBudgetInput, ProjectBudgetOutput,
)
from portal.accounts.models import Membership, Team
from portal.accounts.selectors import team_can_manage, team_role
from projects.selectors import project_can_manage, project_get_for


def team_for(request, team_id, *, manage):
    """The team if the caller may see it (404 otherwise); ``manage`` also needs team admin or platform admin (403)."""
    team = get_object_or_404(Team, pk=team_id)
    user = request.user
    if user.is_platform_admin:
        return team
    role = team_role(user=user, team=team)
    if role is None:
        raise NotFound()
    if manage and role != Membership.Role.ADMIN:
        raise PermissionDenied("Only the team's admins and platform admins see its budget and costs.")
    return team


@extend_schema(tags=["costs"])
class PriceSheetListApi(generics.ListAPIView):
    """Every price version, newest first. POST adds one (platform admins)."""

    serializer_class = PriceSheetOutput
    queryset = PriceSheet.objects.all()

    @extend_schema(request=PriceSheetInput, responses={201: PriceSheetOutput})
    def post(self, request):
        if not request.user.is_platform_admin:
            raise PermissionDenied("Only platform admins set prices.")
        serializer = PriceSheetInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        sheet = services.price_sheet_create(actor=request.user, request=request._request, **serializer.validated_data)
        return Response(PriceSheetOutput(sheet).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["costs"])
class PriceSheetCurrentApi(APIView):
    @extend_schema(responses=PriceSheetOutput)
    def get(self, request):
        sheet = services.price_sheet_at()
        if sheet is None:
            raise NotFound("No prices are set yet.")
        return Response(PriceSheetOutput(sheet).data)


def _budget_response(budget):
    now = timezone.now()
    grants = BudgetGrant.objects.filter(team_id=budget.team_id, ends__gt=now).select_related("created_by")
    from costs.alerts import budget_stop_for

    context = {"status": services.budget_status(budget, now), "grants": grants, "stop": budget_stop_for(team_id=budget.team_id)}
    return Response(BudgetOutput(budget, context=context).data)


@extend_schema(tags=["costs"])
class BudgetApi(APIView):
    """A team's budget: team admins and platform admins read it, platform admins set it."""

    @extend_schema(responses=BudgetOutput)
    def get(self, request, team_id):
        team = team_for(request, team_id, manage=True)
        budget = selectors.budget_for(team=team)
        if budget is None:
            raise NotFound("This team has no budget yet.")
        return _budget_response(budget)

    @extend_schema(request=BudgetInput, responses=BudgetOutput)
    def put(self, request, team_id):
        team = team_for(request, team_id, manage=True)
        if not request.user.is_platform_admin:
            raise PermissionDenied("Only platform admins set budgets.")
        serializer = BudgetInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        budget = services.budget_set(team=team, actor=request.user, request=request._request, **serializer.validated_data)
        return _budget_response(budget)


@extend_schema(tags=["costs"])
class BudgetGrantListApi(APIView):
    """Time-boxed budget increases. Platform admins grant them."""

    @extend_schema(responses=BudgetGrantOutput(many=True))
    def get(self, request, team_id):
        team = team_for(request, team_id, manage=True)
        grants = BudgetGrant.objects.filter(team=team).select_related("created_by")
        return Response(BudgetGrantOutput(grants, many=True).data)

    @extend_schema(request=BudgetGrantInput, responses={201: BudgetGrantOutput})
    def post(self, request, team_id):
        team = team_for(request, team_id, manage=True)
        if not request.user.is_platform_admin:
            raise PermissionDenied("Only platform admins grant budget increases.")
        serializer = BudgetGrantInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        grant = services.budget_grant_create(team=team, actor=request.user, request=request._request, **serializer.validated_data)
        return Response(BudgetGrantOutput(grant).data, status=status.HTTP_201_CREATED)


def _instant(value, field, zone):
    """An aware datetime from an ISO date or date-time; 400 naming ``field`` for anything else,
    including dates that do not exist (2026-02-30), offsets of a day or more and years at the edge
    of the calendar (which cannot be moved to UTC)."""
    message = "Give an ISO date (2026-11-01) or date-time (2026-11-01T00:00:00Z) between the years 1970 and 9998."
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            parsed = datetime(day.year, day.month, day.day) if day is not None else None
        if parsed is None:
            raise ValueError(value)
        instant = parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=zone)
        instant.astimezone(dt_timezone.utc)
    except (ValueError, OverflowError):
        raise ValidationError({field: [message]}) from None
    if not 1970 <= instant.year <= 9998:
        raise ValidationError({field: [message]})
    return instant


def report_window(team, params):
    """(start, end, group_by) from query parameters, defaulting to the team's current budget period."""
    query = CostReportQuery(data=params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    zone = ZoneInfo(team.time_zone)
    budget = selectors.budget_for(team=team)
    start, end = period_bounds(timezone.now(), time_zone=team.time_zone, start_day=budget.period_start_day if budget else 1)
    if data.get("start"):
        start = _instant(data["start"], "start", zone)
    if data.get("end"):
        end = _instant(data["end"], "end", zone)
    if end <= start:
        raise ValidationError({"end": ["The end must come after the start."]})
    if end - start > timedelta(days=400):
        raise ValidationError({"end": ["Ask for at most 400 days at a time."]})
    return start, end, data["group_by"]


def _report(request, team_id, project=None):
    team = project.team if project is not None else team_for(request, team_id, manage=True)
    start, end, group_by = report_window(team, request.query_params)
    groups, total = selectors.cost_report(team=team, start=start, end=end, group_by=group_by, project=project)
    return team, {"team": team.pk, "currency": settings.PLATFORM_CURRENCY, "start": start, "end": end,
                  "group_by": group_by, "total": total, "groups": groups}


REPORT_PARAMETERS = [
    OpenApiParameter("start", str, description="ISO date or date-time; default: the current budget period's start"),
    OpenApiParameter("end", str, description="exclusive; default: the period's end"),
    OpenApiParameter("group_by", str, enum=["user", "profile", "image", "day", "workspace", "bucket", "project"], description="default: user"),
]


@extend_schema(tags=["costs"])
class CostReportApi(APIView):
    """What a team spent in a window, grouped (team admins, platform admins)."""

    @extend_schema(parameters=REPORT_PARAMETERS, responses=CostReportOutput)
    def get(self, request, team_id):
        return Response(CostReportOutput(_report(request, team_id)[1]).data)


@extend_schema(tags=["costs"])
class CostReportCsvApi(APIView):
    """The same report as CSV (amounts in major units, e.g. euros)."""

    @extend_schema(parameters=REPORT_PARAMETERS, responses={(200, "text/csv"): str})
    def get(self, request, team_id):
        team, report = _report(request, team_id)
        return cost_report_csv(team, report)


def project_for_costs(request, pk):
    """The project if the caller may see its costs: 404 for outsiders, 403 for team members who neither own
    it nor administer the team (costs per person are for those who answer for them)."""
    project = project_get_for(user=request.user, pk=pk)
    if not project_can_manage(user=request.user, project=project):
        raise PermissionDenied("Only the project's owners and the team's admins see its budget and costs.")
    return project


@extend_schema(tags=["costs"])
class ProjectCostReportApi(APIView):
    """What a project's workspaces cost in a window (the team's budget period by default), grouped."""

    @extend_schema(parameters=REPORT_PARAMETERS, responses=CostReportOutput)
    def get(self, request, pk):
        return Response(CostReportOutput(_report(request, None, project_for_costs(request, pk))[1]).data)


@extend_schema(tags=["costs"])
class ProjectCostReportCsvApi(APIView):
    """The project's report as CSV (amounts in major units)."""

    @extend_schema(parameters=REPORT_PARAMETERS, responses={(200, "text/csv"): str})
    def get(self, request, pk):
        project = project_for_costs(request, pk)
        team, report = _report(request, None, project)
        return cost_report_csv(team, report, name=f"{team.slug}-{project.slug}")


def _project_budget_response(budget):
    return Response(ProjectBudgetOutput(budget, context={"status": services.project_budget_status(budget)}).data)


@extend_schema(tags=["costs"])
class ProjectBudgetApi(APIView):
    """A project's budget inside its team's: owners and team admins read it; team admins and platform admins set it."""

    @extend_schema(responses=ProjectBudgetOutput)
    def get(self, request, pk):
        project = project_for_costs(request, pk)
        budget = selectors.project_budget_for(project=project)
        if budget is None:
            raise NotFound("This project has no budget.")
        return _project_budget_response(budget)

    @extend_schema(request=ProjectBudgetInput, responses=ProjectBudgetOutput)
    def put(self, request, pk):
        project = project_for_costs(request, pk)
        if not team_can_manage(user=request.user, team=project.team):
            raise PermissionDenied("Only the team's admins and platform admins set project budgets.")
        serializer = ProjectBudgetInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        budget = services.project_budget_set(project=project, actor=request.user, request=request._request,
                                             **serializer.validated_data)
        return _project_budget_response(budget)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        project = project_for_costs(request, pk)
        if not team_can_manage(user=request.user, team=project.team):
            raise PermissionDenied("Only the team's admins and platform admins set project budgets.")
        services.project_budget_remove(project=project, actor=request.user, request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


def cost_report_csv(team, report, *, name=None):
    from costs.currencies import minor_to_major

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([report["group_by"], "label", f"cost ({report['currency']})", "hours", "records"])
    for group in report["groups"]:
        writer.writerow([group["key"], _safe(group["label"]), minor_to_major(group["cost"], report["currency"]),
                         group["hours"], group["records"]])
    writer.writerow(["total", "", minor_to_major(report["total"], report["currency"]), "", ""])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"costs-{name or team.slug}-{report['start']:%Y%m%d}-{report['end']:%Y%m%d}-{report['group_by']}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _safe(text):
    """Spreadsheets run cells that start with = + - @ as formulas (CSV injection)."""
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text



