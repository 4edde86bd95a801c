"""Series read from the database at scrape time: what the platform holds now, right after any restart.

Each family costs one query (budgets: one per distinct budget period, in practice one), whatever the
number of workspaces, teams or buckets: tests/observability/test_metrics_endpoint.py counts them.
"""

from collections import defaultdict

from django.db.models import Count, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from workspaces.states import workspace_status


class PlatformCollector:
    """Workspaces by status, profile and team; budgets per team; buckets by state."""

    def collect(self):
        yield self._workspaces()
        yield from self._budgets()
        yield self._buckets()

    def describe(self):
        return []  # nothing to describe ahead: registering must not query the database

    @staticmethod
    def _workspaces():
        from workspaces.models import Workspace

        family = GaugeMetricFamily("dsw_workspaces", "Workspaces by displayed status, profile and team (deleted ones "
                                   "are left out).", labels=["status", "profile", "team"])
        counts = defaultdict(int)
        rows = (Workspace.objects.exclude(desired_state=Workspace.Desired.DELETED)
                .values_list("desired_state", "observed_state", "profile__name", "team__slug")
                .annotate(count=Count("id")).order_by())
        for desired, observed, profile, team, count in rows:
            counts[(workspace_status(desired, observed), profile, team)] += count
        for labels, count in sorted(counts.items()):
            family.add_metric(list(labels), count)
        return family

    @staticmethod
    def _budgets():
        from costs.currencies import minor_to_major
        from costs.models import Budget, BudgetGrant
        from costs.rollups import ledger_sums
        from costs.pricing import micros_to_minor
        from costs.services import budget_period, spend_forecast

        now = timezone.now()
        limit_family = GaugeMetricFamily("dsw_budget_limit", "A team's budget this period with its grants, in "
                                         "currency units.", labels=["team", "currency"])
        spent_family = GaugeMetricFamily("dsw_budget_spent", "A team's spend this period, in currency units.",
                                         labels=["team", "currency"])
        utilisation = GaugeMetricFamily("dsw_budget_utilisation_ratio", "Spend this period / the budget (1 = 100 %).",
                                        labels=["team"])
        forecast_family = GaugeMetricFamily("dsw_budget_forecast_ratio", "The period's spend at the current pace / "
                                            "the budget (linear, from the second day of the period).", labels=["team"])
        budgets = list(Budget.objects.select_related("team"))
        if budgets:
            granted = dict(BudgetGrant.objects.filter(starts__lte=now, ends__gt=now).values("team_id")
                           .annotate(total=Sum("amount")).values_list("team_id", "total").order_by())
            by_period = defaultdict(list)
            for budget in budgets:
                by_period[budget_period(budget, now)].append(budget)
            spent_micros = {}
            for (start, end), group in by_period.items():
                spent_micros.update((row["team_id"], row["micros"]) for row in ledger_sums(
                    start=start, end=end, group_by=["team_id"], team_id__in=[b.team_id for b in group]))
            for (start, end), group in by_period.items():
                for budget in group:
                    team, currency = budget.team.slug, budget.currency
                    limit = budget.amount + (granted.get(budget.team_id) or 0)
                    spent = micros_to_minor(spent_micros.get(budget.team_id) or 0)
                    forecast = spend_forecast(spent=spent, start=start, end=end, at=now)
                    limit_family.add_metric([team, currency], float(minor_to_major(limit, currency)))
                    spent_family.add_metric([team, currency], float(minor_to_major(spent, currency)))
                    if limit:
                        utilisation.add_metric([team], spent / limit)
                        forecast_family.add_metric([team], forecast / limit)
        yield from (limit_family, spent_family, utilisation, forecast_family)

    @staticmethod
    def _buckets():
        from buckets.models import Bucket

        family = GaugeMetricFamily("dsw_buckets", "Object-store buckets by provisioning state and kind.",
                                   labels=["state", "kind"])
        for state, kind, count in (Bucket.objects.values_list("state", "kind").annotate(count=Count("id")).order_by()):
            family.add_metric([state, kind], count)
        return family
