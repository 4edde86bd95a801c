"""What workspaces ask of the costs app, in one place: the budget check of a launch, what a size costs
and how many hours of it a team's budget still buys, the money field of forms, and announced budget stops.

Costs builds on workspaces (its ledger reads their lifecycle events, and a budget stop stops them);
workspaces asks costs only through this module, which an import contract enforces (pyproject.toml). The
two depend on each other at run time, so the calls into costs' services import them when called: a
module-level import here would close an import cycle (costs.alerts imports workspaces.services).
"""

from costs.currencies import minor_to_major
from costs.forms import MoneyField

__all__ = ["MoneyField", "budget_check_launch", "budget_stop_for", "budget_stops_by_team", "minor_to_major",
           "price_sheet_at", "profile_budget_hours", "profile_hourly_price", "profile_price_label", "team_budget_left"]


def budget_check_launch(*, team, profile, workspace=None, project=None):
    """Refuse (ValidationError on `budget`, or `project` for a project's budget) a launch the team's budget, or
    the budget of the project it runs in, cannot carry; locks the team's budget row until the caller's
    transaction commits, so parallel launches cannot overshoot."""
    from costs import services

    return services.budget_check_launch(team=team, profile=profile, workspace=workspace, project=project)


def price_sheet_at(instant=None):
    from costs import services

    return services.price_sheet_at(instant)


def profile_hourly_price(profile, sheet):
    from costs import services

    return services.profile_hourly_price(profile, sheet)


def profile_price_label(profile, sheet, budget=None):
    from costs import services

    return services.profile_price_label(profile, sheet, budget)


def team_budget_left(*, team):
    from costs import services

    return services.team_budget_left(team=team)


def profile_budget_hours(*, profile, sheet, budgets):
    from costs import services

    return services.profile_budget_hours(profile=profile, sheet=sheet, budgets=budgets)


def budget_stop_for(*, team_id):
    from costs import alerts

    return alerts.budget_stop_for(team_id=team_id)


def budget_stops_by_team():
    from costs import alerts

    return alerts.budget_stops_by_team()
