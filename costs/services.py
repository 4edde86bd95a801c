"""Prices, budgets, grants and the launch check. Every admin change is audited.

Functions raise ``ValidationError`` naming the field at fault; the API turns that into a 400.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from costs.currencies import format_money, validate_currency
from costs import rollups
from costs.models import Budget, BudgetGrant, PriceSheet, ProjectBudget
from costs.periods import period_bounds, validate_time_zone
from costs.pricing import Resources, compute_rate_micros, hours_affordable, micros_to_minor, storage_rate_micros
from portal.audit.services import audit_record
from workspaces.models import Workspace

MAX_MONEY = 10**15  # minor units; far above any budget, far below the 64-bit limit of the micro-unit ledger


# --- Prices -------------------------------------------------------------------

def price_sheet_at(instant=None):
    """The price version in force at ``instant`` (default now), or None before the first one."""
    instant = instant or timezone.now()
    return PriceSheet.objects.filter(effective_from__lte=instant).order_by("-effective_from").first()


def _check_money(errors, field, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        errors[field] = "Give a whole, non-negative number of minor currency units (e.g. cents)."
    elif value > MAX_MONEY:
        errors[field] = "That amount is too large."


def price_sheet_create(*, actor, cpu_core_hour, memory_gib_hour, storage_gib_month, gpu_hour=None,
                       currency=None, effective_from=None, note="", request=None):
    """Add a price version. It applies from ``effective_from`` (default now, never in the past) on;
    costs already metered keep their prices."""
    now = timezone.now()
    errors = {}
    for field, value in (("cpu_core_hour", cpu_core_hour), ("memory_gib_hour", memory_gib_hour),
                         ("storage_gib_month", storage_gib_month)):
        _check_money(errors, field, value)
    gpu_hour = {} if gpu_hour is None else gpu_hour
    if not isinstance(gpu_hour, dict):
        errors["gpu_hour"] = 'Give an object of GPU type to price, e.g. {"h100": 250, "": 100}.'
    else:
        for gpu_type, value in gpu_hour.items():
            if not isinstance(gpu_type, str) or len(gpu_type) > 40:
                errors["gpu_hour"] = "GPU types are names of at most 40 characters."
            elif not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_MONEY:
                errors["gpu_hour"] = f"The price for GPU type {gpu_type!r} must be a whole, non-negative number of minor units."
    try:
        currency = validate_currency(currency or settings.PLATFORM_CURRENCY)
        if currency != settings.PLATFORM_CURRENCY:
            errors["currency"] = f"The platform bills in {settings.PLATFORM_CURRENCY} (PLATFORM_CURRENCY)."
    except ValueError as exc:
        errors["currency"] = str(exc)
    effective_from = effective_from or now
    if effective_from < now - timedelta(minutes=1):
        errors["effective_from"] = "Prices cannot change the past: choose now or a later time."
    elif PriceSheet.objects.filter(effective_from=effective_from).exists():
        errors["effective_from"] = "A price version starts at that instant already."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        sheet = PriceSheet.objects.create(
            effective_from=effective_from, currency=currency, cpu_core_hour=cpu_core_hour, memory_gib_hour=memory_gib_hour,
            gpu_hour=gpu_hour, storage_gib_month=storage_gib_month, note=note[:200],
            created_by=actor.get_username() if actor else "")
        audit_record(action="prices.created", actor=actor, request=request, target=sheet,
                     data={"effective_from": effective_from.isoformat(), "currency": currency, "cpu_core_hour": cpu_core_hour,
                           "memory_gib_hour": memory_gib_hour, "gpu_hour": gpu_hour, "storage_gib_month": storage_gib_month})
    return sheet


def profile_resources(profile):
    return Resources(cpu=profile.cpu, memory_bytes=profile.memory_bytes, gpus=profile.gpus, gpu_type=profile.gpu_type,
                     disk_bytes=profile.disk_bytes)


def profile_hourly_micros(profile, sheet):
    """What an hour of a running workspace of this profile costs (compute + its disk), in micro-units."""
    if sheet is None:
        return 0
    resources = profile_resources(profile)
    return compute_rate_micros(resources, sheet.prices) + storage_rate_micros(resources, sheet.prices)


def profile_hourly_price(profile, sheet):
    """(minor units per hour, currency), rounded half up; (0, configured currency) without prices."""
    return micros_to_minor(profile_hourly_micros(profile, sheet)), sheet.currency if sheet else settings.PLATFORM_CURRENCY


# --- Budgets ------------------------------------------------------------------

DEFAULT_THRESHOLDS = [50, 80, 100]


def _validate_budget(*, amount, currency, thresholds, action, grace_minutes, period_start_day, time_zone):
    errors = {}
    _check_money(errors, "amount", amount)
    try:
        currency = validate_currency(currency or settings.PLATFORM_CURRENCY)
        if currency != settings.PLATFORM_CURRENCY:
            errors["currency"] = f"Budgets are in the platform's currency, {settings.PLATFORM_CURRENCY}."
    except ValueError as exc:
        errors["currency"] = str(exc)
    if not isinstance(thresholds, list) or len(thresholds) > 10 or not all(
            isinstance(t, int) and not isinstance(t, bool) and 1 <= t <= 100 for t in thresholds):
        errors["thresholds"] = "Give up to 10 whole percentages between 1 and 100, e.g. [50, 80, 100]."
    elif len(set(thresholds)) != len(thresholds):
        errors["thresholds"] = "Each threshold may appear once."
    if action not in Budget.Action.values:
        errors["action"] = f"Choose one of: {', '.join(Budget.Action.values)}."
    if not isinstance(grace_minutes, int) or isinstance(grace_minutes, bool) or not 0 <= grace_minutes <= 60 * 24 * 7:
        errors["grace_minutes"] = "Give whole minutes between 0 and 10080 (a week)."
    if not isinstance(period_start_day, int) or isinstance(period_start_day, bool) or not 1 <= period_start_day <= 28:
        errors["period_start_day"] = "Periods start on a day between 1 and 28 (every month has it)."
    try:
        time_zone = validate_time_zone(time_zone)
    except ValueError as exc:
        errors["time_zone"] = str(exc)
    if errors:
        raise ValidationError(errors)
    return currency, time_zone


def budget_set(*, team, actor, amount, currency=None, thresholds=None, action=Budget.Action.NOTIFY, grace_minutes=60,
               period_start_day=1, time_zone=None, request=None):
    """Create or replace a team's budget (platform admins). The time zone is the team's."""
    thresholds = list(DEFAULT_THRESHOLDS) if thresholds is None else thresholds
    time_zone = team.time_zone if time_zone is None else time_zone
    currency, time_zone = _validate_budget(amount=amount, currency=currency, thresholds=thresholds, action=action,
                                           grace_minutes=grace_minutes, period_start_day=period_start_day, time_zone=time_zone)
    thresholds = sorted(thresholds)
    values = {"amount": amount, "currency": currency, "thresholds": thresholds, "action": action,
              "grace_minutes": grace_minutes, "period_start_day": period_start_day}
    with transaction.atomic():
        budget, created = Budget.objects.select_for_update().get_or_create(team=team, defaults=values)
        before = {key: getattr(budget, key) for key in values} | {"time_zone": team.time_zone}
        if not created:
            for key, value in values.items():
                setattr(budget, key, value)
            budget.save()
        if team.time_zone != time_zone:
            team.time_zone = time_zone
            team.save(update_fields=["time_zone"])
        audit_record(action="budget.set", actor=actor, request=request, target=team,
                     data={"before": None if created else before, "after": values | {"time_zone": time_zone}})
        _queue_enforce(team)
    return budget


def budget_grant_create(*, team, actor, amount, starts=None, ends, reason, request=None):
    """A time-boxed increase of the team's limit (platform admins), audited."""
    starts = starts or timezone.now()
    errors = {}
    _check_money(errors, "amount", amount)
    if isinstance(amount, int) and amount == 0:
        errors["amount"] = "A grant adds more than zero."
    if ends is None or ends <= starts:
        errors["ends"] = "A grant ends after it starts."
    elif ends - starts > timedelta(days=92):
        errors["ends"] = "Grants last at most 92 days; raise the budget instead."
    if not (reason or "").strip():
        errors["reason"] = "Say why the team gets more (it goes to the audit log)."
    if not Budget.objects.filter(team=team).exists():
        errors["team"] = "The team has no budget to increase."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        grant = BudgetGrant.objects.create(team=team, amount=amount, starts=starts, ends=ends, reason=reason.strip()[:500],
                                           created_by=actor)
        audit_record(action="budget.grant_created", actor=actor, request=request, target=team,
                     data={"grant": grant.pk, "amount": amount, "starts": starts.isoformat(), "ends": ends.isoformat(),
                           "reason": grant.reason})
        _queue_enforce(team)
    return grant


def _queue_enforce(team):
    # A new action, amount or grant may start, cancel or carry out a budget stop: apply it now rather
    # than at the next metering pass (which would, too).
    from costs.tasks import costs_budget_enforce_task

    costs_budget_enforce_task.delay_on_commit(team.pk)


def budget_period(budget, at=None):
    return period_bounds(at or timezone.now(), time_zone=budget.team.time_zone, start_day=budget.period_start_day)


def budget_limit(budget, at=None):
    """The amount plus the grants in force at ``at``, in minor units."""
    at = at or timezone.now()
    granted = (BudgetGrant.objects.filter(team_id=budget.team_id, starts__lte=at, ends__gt=at)
               .aggregate(total=Sum("amount"))["total"]) or 0
    return budget.amount + granted


def team_spent_micros(*, team_id, start, end):
    return rollups.total_micros(start=start, end=end, team_id=team_id)


def spend_forecast(*, spent, start, end, at):
    """What a period's spend comes to at the current pace (linear). Pure."""
    elapsed = (at - start).total_seconds()
    # A linear forecast means little in the first day of a period; until then it is the spend so far.
    return round(spent * (end - start).total_seconds() / elapsed) if elapsed >= 86400 else spent


def budget_status(budget, at=None):
    """Where a budget stands now: a dict with period, limit, spent, remaining (minor units) and forecast."""
    at = at or timezone.now()
    start, end = budget_period(budget, at)
    limit = budget_limit(budget, at)
    spent = micros_to_minor(team_spent_micros(team_id=budget.team_id, start=start, end=end))
    forecast = spend_forecast(spent=spent, start=start, end=end, at=at)
    return {"period_start": start, "period_end": end, "limit": limit, "amount": budget.amount, "spent": spent,
            "remaining": limit - spent, "forecast": forecast, "currency": budget.currency,
            "percent": round(100 * spent / limit, 1) if limit else None}


# --- Enforcement --------------------------------------------------------------

ACTIVE = Q(desired_state="running") & ~Q(observed_state__in=["failed", "stopped"])


def budget_check_launch(*, team, profile, workspace=None, project=None):
    """Refuse a launch that would overshoot the team's budget, or the budget of the project it runs in.
    Call inside the transaction that records the launch: the team's budget row stays locked until it
    commits, so parallel launches are checked one after the other and cannot overshoot together.

    A launch fits when the period's spend plus ``PLATFORM_COSTS_LAUNCH_RESERVATION_HOURS`` of every
    active workspace of the team (of the project), this one included, stays within the limit.
    """
    budget = Budget.objects.select_for_update().select_related("team").filter(team=team).first()
    if project is not None:
        _project_budget_check(project=project, team_budget=budget, profile=profile, workspace=workspace)
    if budget is None or budget.action == Budget.Action.NOTIFY:
        return
    now = timezone.now()
    status = budget_status(budget, now)
    hours, needed, available = _launch_room(status, Workspace.objects.filter(ACTIVE, team=team), profile, workspace, now)
    if status["remaining"] <= 0 or needed > available:
        currency = budget.currency
        raise ValidationError({"budget": (
            f"The team's budget does not allow this launch: {format_money(max(status['remaining'], 0), currency)} remains "
            f"this period ({format_money(max(available, 0), currency)} after the running workspaces' next "
            f"{hours} h), and this size needs {format_money(needed, currency)} for {hours} h. "
            "Stop a workspace, choose a smaller size, or ask an admin for more budget.")})


def _launch_room(status, active, profile, workspace, now):
    """(reservation hours, what the launch needs, what remains after the active workspaces' reservation), in
    minor units, for a budget ``status`` and its ``active`` workspaces (``workspace``, when it starts again,
    left out of them)."""
    sheet = price_sheet_at(now)
    active = active.select_related("profile")
    if workspace is not None:
        active = active.exclude(pk=workspace.pk)
    hours = settings.PLATFORM_COSTS_LAUNCH_RESERVATION_HOURS
    reserved = micros_to_minor(hours * sum(profile_hourly_micros(w.profile, sheet) for w in active))
    needed = micros_to_minor(hours * profile_hourly_micros(profile, sheet))
    return hours, needed, status["remaining"] - reserved


def profile_price_label(profile, sheet, budget=None):
    """" · 0.42 EUR/h · 118.5 h left in Data Science's budget" for the launch form; ``budget`` is a
    ``team_budget_left`` item or None. Empty before any prices are set."""
    if sheet is None:
        return ""
    price, currency = profile_hourly_price(profile, sheet)
    label = f" · {format_money(price, currency)}/h"
    if budget is not None:
        hours = hours_affordable(budget["remaining"], profile_hourly_micros(profile, sheet))
        if hours is not None:
            label += f" · {hours:g} h left in {budget['team'].name}'s budget"
    return label


def team_budget_left(*, team, at=None):
    """{"team", "remaining" (minor units), "currency"} for a team with a budget, else None."""
    budget = Budget.objects.select_related("team").filter(team=team).first()
    if budget is None:
        return None
    return {"team": budget.team, "remaining": budget_status(budget, at)["remaining"], "currency": budget.currency}


def profile_budget_hours(*, profile, sheet, budgets):
    """For each ``team_budget_left`` item: how many hours of this size its remaining budget pays for
    if nothing else ran (None: the size costs nothing at the prices in force)."""
    rate = profile_hourly_micros(profile, sheet)
    return [{"team": item["team"], "remaining": item["remaining"], "hours": hours_affordable(item["remaining"], rate)}
            for item in budgets]


# --- Project budgets ----------------------------------------------------------

def project_budget_period(project, at=None):
    """A project's budget runs over its team's budget periods (calendar months in the team's zone without one)."""
    team_budget = Budget.objects.filter(team_id=project.team_id).first()
    start_day = team_budget.period_start_day if team_budget else 1
    return period_bounds(at or timezone.now(), time_zone=project.team.time_zone, start_day=start_day)


def project_spent_micros(*, project_id, start, end):
    return rollups.total_micros(start=start, end=end, project_id=project_id)


def project_budget_status(project_budget, at=None):
    """Where a project's budget stands: period, limit, spent, remaining (minor units), percent."""
    start, end = project_budget_period(project_budget.project, at)
    spent = micros_to_minor(project_spent_micros(project_id=project_budget.project_id, start=start, end=end))
    limit = project_budget.amount
    return {"period_start": start, "period_end": end, "limit": limit, "amount": limit, "spent": spent,
            "remaining": limit - spent, "forecast": spent, "currency": project_budget.currency,
            "percent": round(100 * spent / limit, 1) if limit else None}


def project_budget_set(*, project, actor, amount, thresholds=None, request=None):
    """Set (or with ``amount`` None remove) a project's budget. It lies inside the team's: never above the
    team budget's amount when the team has one."""
    errors = {}
    _check_money(errors, "amount", amount)
    if errors:
        raise ValidationError(errors)
    thresholds = sorted(set(thresholds if thresholds is not None else [50, 80, 100]))
    if any(not 1 <= value <= 1000 for value in thresholds):
        raise ValidationError({"thresholds": "Percentages between 1 and 1000."})
    team_budget = Budget.objects.filter(team_id=project.team_id).first()
    if team_budget is not None and amount > team_budget.amount:
        raise ValidationError({"amount": f"A project's budget lies inside its team's: at most "
                                         f"{format_money(team_budget.amount, team_budget.currency)} per period."})
    currency = team_budget.currency if team_budget else settings.PLATFORM_CURRENCY
    with transaction.atomic():
        budget, _ = ProjectBudget.objects.update_or_create(
            project=project, defaults={"amount": amount, "currency": currency, "thresholds": thresholds})
        audit_record(action="project.budget.set", actor=actor, request=request, target=project,
                     data={"amount": amount, "currency": currency, "thresholds": thresholds})
    return budget


def project_budget_remove(*, project, actor, request=None):
    with transaction.atomic():
        deleted, _ = ProjectBudget.objects.filter(project=project).delete()
        if deleted:
            audit_record(action="project.budget.remove", actor=actor, request=request, target=project)


def _project_budget_check(*, project, team_budget, profile, workspace):
    """The project's budget for a launch in it; the caller holds the team budget's row lock (when the team
    has a budget), and the project budget's row is locked here, so launches in one project queue up."""
    budget = ProjectBudget.objects.select_for_update().select_related("project__team").filter(project=project).first()
    if budget is None:
        return
    now = timezone.now()
    status = project_budget_status(budget, now)
    hours, needed, available = _launch_room(status, Workspace.objects.filter(ACTIVE, project=project), profile, workspace, now)
    if status["remaining"] <= 0 or needed > available:
        currency = budget.currency
        raise ValidationError({"project": (
            f"Project {project.slug}'s budget does not allow this launch: {format_money(max(status['remaining'], 0), currency)} "
            f"of {format_money(budget.amount, currency)} remains this period ({format_money(max(available, 0), currency)} "
            f"after its running workspaces' next {hours} h), and this size needs {format_money(needed, currency)} "
            f"for {hours} h. Stop a workspace of the project, choose a smaller size, or ask its owners for more budget.")})
