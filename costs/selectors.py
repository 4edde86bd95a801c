"""Reads for cost reports, scoped by the callers (views and API check who may see a team)."""

from costs import rollups
from costs.models import Budget, ProjectBudget
from costs.pricing import micros_to_minor

GROUPS = {
    "user": ("user_id", "username"),
    "profile": ("profile_id", "profile_name"),
    "image": ("image", "image"),
    "workspace": ("workspace_id", "workspace_name"),
    "bucket": ("bucket_id", "bucket_name"),
    "project": ("project_id", "project_slug"),
}
GROUP_BY_CHOICES = ["user", "profile", "image", "day", "workspace", "bucket", "project"]
NO_PROJECT = "(no project)"


def cost_report(*, team, start, end, group_by, project=None):
    """Costs of a team's usage that started in [start, end), grouped. One query, over the hourly roll-ups
    (and the raw records of the hours the range cuts): exactly the aggregate over the raw ledger.

    Returns (groups, total): groups are {"key", "label", "cost" (minor units), "hours", "records"},
    biggest first (days in order; days are the team's local days); total is rounded once, from the
    micro-units, so it can differ from the sum of the rounded groups by a cent or so. With ``project``, only
    that project's usage.
    """
    filters = {"team_id": team.pk} if project is None else {"team_id": team.pk, "project_id": project.pk}
    if group_by == "day":
        rows = sorted(rollups.ledger_sums(start=start, end=end, day_zone=team.time_zone, **filters), key=lambda row: row["day"])
        items = [{"key": row["day"].isoformat(), "label": row["day"].isoformat(), "micros": row["micros"], "ms": row["ms"],
                  "records": row["records"]} for row in rows]
        return _finish(items)
    key, label = GROUPS[group_by]
    fields = [key] if key == label else [key, label]
    rows = rollups.ledger_sums(start=start, end=end, group_by=fields, **filters)
    rows.sort(key=lambda row: (-row["micros"], str(row[key]), str(row[label])))
    merged = {}
    for row in rows:  # a renamed workspace or profile keeps one key, under the label with the most spend
        item = merged.setdefault(row[key], {"key": row[key], "label": row[label] or (NO_PROJECT if group_by == "project" else ""),
                                            "micros": 0, "ms": 0, "records": 0})
        item["micros"] += row["micros"]
        item["ms"] += row["ms"]
        item["records"] += row["records"]
    return _finish(sorted(merged.values(), key=lambda item: (-item["micros"], str(item["key"]))))


def _finish(items):
    groups = [{"key": item["key"], "label": item["label"], "cost": micros_to_minor(item["micros"]),
               "hours": round(item["ms"] / 3_600_000, 3), "records": item["records"]} for item in items]
    return groups, micros_to_minor(sum(item["micros"] for item in items))


def budget_for(*, team):
    return Budget.objects.select_related("team").filter(team=team).first()


def remaining_for_user(*, user):
    """For each of the user's teams with a budget: what remains this period (members may see this)."""
    from costs.services import budget_status

    budgets = Budget.objects.filter(team__memberships__user=user).select_related("team").order_by("team__name")
    return [{"team": budget.team, **budget_status(budget)} for budget in budgets]


def project_budget_for(*, project):
    return ProjectBudget.objects.select_related("project__team").filter(project=project).first()
