from django.conf import settings
from django.db import models

from costs.pricing import Prices


class PriceSheet(models.Model):
    """One version of the prices, in force from ``effective_from`` until the next version's start.

    Versions are never edited: a change is a new version, so costs already in the ledger keep the
    price they were metered at.
    """

    effective_from = models.DateTimeField(unique=True)
    currency = models.CharField(max_length=3)
    cpu_core_hour = models.PositiveBigIntegerField(help_text="Minor units per CPU core-hour.")
    memory_gib_hour = models.PositiveBigIntegerField(help_text="Minor units per GiB of memory per hour.")
    gpu_hour = models.JSONField(default=dict, blank=True, help_text='Minor units per GPU-hour by type; "" prices any other type.')
    storage_gib_month = models.PositiveBigIntegerField(help_text="Minor units per GiB of disk per month (730 hours).")
    note = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-effective_from"]

    def __str__(self):
        return f"Prices from {self.effective_from:%Y-%m-%d %H:%M} UTC"

    @property
    def prices(self):
        return Prices(cpu_core_hour=self.cpu_core_hour, memory_gib_hour=self.memory_gib_hour,
                      gpu_hour=dict(self.gpu_hour or {}), storage_gib_month=self.storage_gib_month)


class MeterLock(models.Model):
    """A single row; a metering pass holds it locked so passes never interleave."""

    last_pass = models.DateTimeField(null=True, blank=True)


class MeterRun(models.Model):
    """Bookkeeping for metering (not the ledger): one span in which a workspace uses something.

    ``compute`` spans run from a ``running`` event to the event that ends the server; ``storage`` spans
    from ``created`` to ``delete_requested``; ``bucket`` spans from one size sample of a bucket to the
    next (buckets.BucketSample). Its id is the id of the event that opened it (for a bucket span, the
    sample's id negated, so the two kinds never share an id), which makes opening idempotent. Attribution (owner, team, profile, image, resources) is taken once, when
    the span opens, so a later team move or profile edit cannot split or double a span.
    """

    class Kind(models.TextChoices):
        COMPUTE = "compute"
        STORAGE = "storage"
        BUCKET = "bucket"

    id = models.BigIntegerField(primary_key=True, help_text="The WorkspaceEvent that opened the span (-BucketSample id).")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    workspace_id = models.BigIntegerField(db_index=True, null=True)
    bucket_id = models.BigIntegerField(null=True, db_index=True)
    bucket_name = models.CharField(max_length=63, blank=True)
    workspace_name = models.CharField(max_length=40)
    user_id = models.BigIntegerField(null=True)
    username = models.CharField(max_length=150)
    team_id = models.BigIntegerField(null=True)
    team_slug = models.CharField(max_length=100)
    project_id = models.BigIntegerField(null=True, blank=True)
    project_slug = models.CharField(max_length=50, blank=True)
    profile_id = models.BigIntegerField(null=True)
    profile_name = models.CharField(max_length=60)
    image = models.CharField(max_length=300)
    cpu = models.DecimalField(max_digits=6, decimal_places=2)
    memory_bytes = models.BigIntegerField()
    gpus = models.PositiveSmallIntegerField(default=0)
    gpu_type = models.CharField(max_length=40, blank=True)
    disk_bytes = models.BigIntegerField(default=0)
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    metered_until = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["end"], name="costs_meterrun_end")]


class UsageRecord(models.Model):
    """The append-only usage ledger: one priced slice of a span, never updated or deleted.

    Slices never cross an hour boundary (UTC), a midnight in the team's zone or a price change, so
    each has one price and belongs to one day and one budget period. Attribution columns are copies
    (no foreign keys) so that deleting a user or a team never rewrites history.
    """

    run = models.ForeignKey(MeterRun, on_delete=models.PROTECT, related_name="records")
    kind = models.CharField(max_length=10, choices=MeterRun.Kind.choices)
    workspace_id = models.BigIntegerField(null=True)
    bucket_id = models.BigIntegerField(null=True)
    bucket_name = models.CharField(max_length=63, blank=True)
    workspace_name = models.CharField(max_length=40)
    user_id = models.BigIntegerField(null=True)
    username = models.CharField(max_length=150)
    team_id = models.BigIntegerField(null=True)
    team_slug = models.CharField(max_length=100)
    project_id = models.BigIntegerField(null=True, blank=True)
    project_slug = models.CharField(max_length=50, blank=True)
    profile_id = models.BigIntegerField(null=True)
    profile_name = models.CharField(max_length=60)
    image = models.CharField(max_length=300)
    start = models.DateTimeField()
    end = models.DateTimeField()
    duration_ms = models.BigIntegerField()
    price_sheet = models.ForeignKey(PriceSheet, on_delete=models.PROTECT, null=True, related_name="+")
    rate_micros_per_hour = models.BigIntegerField()
    cost_micros = models.BigIntegerField(help_text="Millionths of the minor unit.")
    currency = models.CharField(max_length=3)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "start"], name="usage_record_unique_run_start"),
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="usage_record_end_after_start"),
        ]
        indexes = [models.Index(fields=["team_id", "start"], name="costs_usage_team_start"),
                   models.Index(fields=["project_id", "start"], name="costs_usage_project_start"),
                   models.Index(fields=["workspace_id", "start"], name="costs_usage_workspace_start")]


class UsageRollup(models.Model):
    """The ledger summed per UTC hour and attribution (costs/rollups.py): what reports, budgets and forecasts read.

    Every ledger record lies inside one UTC hour, so an hour's rows here sum exactly what its records do.
    Metering adds each pass's records in the pass's transaction; ``manage.py costs_rebuild_rollups`` recomputes
    them from the ledger. ``digest`` names the attribution (every column from ``kind`` to ``image``) so that one
    hour holds one row per attribution, NULLs included, on any database.
    """

    hour = models.DateTimeField()
    digest = models.CharField(max_length=40)
    kind = models.CharField(max_length=10, choices=MeterRun.Kind.choices)
    team_id = models.BigIntegerField(null=True)
    user_id = models.BigIntegerField(null=True)
    username = models.CharField(max_length=150)
    workspace_id = models.BigIntegerField(null=True)
    workspace_name = models.CharField(max_length=40)
    bucket_id = models.BigIntegerField(null=True)
    bucket_name = models.CharField(max_length=63, blank=True)
    project_id = models.BigIntegerField(null=True, blank=True)
    project_slug = models.CharField(max_length=50, blank=True)
    profile_id = models.BigIntegerField(null=True)
    profile_name = models.CharField(max_length=60)
    image = models.CharField(max_length=300)
    cost_micros = models.BigIntegerField()
    duration_ms = models.BigIntegerField()
    records = models.PositiveIntegerField(help_text="How many ledger records the row sums.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "digest"], name="usage_rollup_one_row_per_attribution")]
        indexes = [models.Index(fields=["team_id", "hour"], name="costs_rollup_team_hour"),
                   models.Index(fields=["project_id", "hour"], name="costs_rollup_project_hour"),
                   models.Index(fields=["workspace_id", "hour"], name="costs_rollup_workspace_hour")]


class Budget(models.Model):
    class Action(models.TextChoices):
        NOTIFY = "notify", "Notify only"
        BLOCK_LAUNCHES = "block_launches", "Block launches"
        STOP_WORKSPACES = "stop_workspaces", "Block launches and stop workspaces after a grace period"

    team = models.OneToOneField("accounts.Team", on_delete=models.CASCADE, related_name="budget")
    amount = models.PositiveBigIntegerField(help_text="Minor units per period.")
    currency = models.CharField(max_length=3)
    thresholds = models.JSONField(default=list, help_text="Percentages of the budget that send an alert.")
    action = models.CharField(max_length=20, choices=Action.choices, default=Action.NOTIFY)
    grace_minutes = models.PositiveIntegerField(default=60)
    period_start_day = models.PositiveSmallIntegerField(default=1)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Budget of {self.team}"


class ProjectBudget(models.Model):
    """A project's share of its team's budget, per the team's budget period: launches in the project that it
    cannot carry are refused (whatever the team budget's action); alerts fire like a team's."""

    project = models.OneToOneField("projects.Project", on_delete=models.CASCADE, related_name="budget")
    amount = models.PositiveBigIntegerField(help_text="Minor units per period.")
    currency = models.CharField(max_length=3)
    thresholds = models.JSONField(default=list, help_text="Percentages of the budget that send an alert.")
    updated = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Budget of project {self.project}"


class ProjectBudgetAlert(models.Model):
    """A threshold of a project's budget crossed in one period; the unique constraint makes each fire once."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="budget_alerts")
    period_start = models.DateTimeField()
    threshold = models.PositiveSmallIntegerField()
    spent = models.BigIntegerField(help_text="Minor units spent when it fired.")
    limit = models.BigIntegerField()
    fired_at = models.DateTimeField()
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-fired_at"]
        constraints = [models.UniqueConstraint(fields=["project", "period_start", "threshold"],
                                               name="project_budget_alert_once_per_period")]


class BudgetGrant(models.Model):
    """A time-boxed increase of a team's budget, granted by a platform admin."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="budget_grants")
    amount = models.PositiveBigIntegerField()
    starts = models.DateTimeField()
    ends = models.DateTimeField()
    reason = models.CharField(max_length=500)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts"]


class BudgetAlert(models.Model):
    """A threshold crossed in one budget period. The unique constraint makes each fire once."""

    class Kind(models.TextChoices):
        ACTUAL = "actual"
        FORECAST = "forecast"

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="budget_alerts")
    period_start = models.DateTimeField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    threshold = models.PositiveSmallIntegerField()
    spent = models.BigIntegerField(help_text="Minor units spent when it fired.")
    forecast = models.BigIntegerField(null=True)
    limit = models.BigIntegerField()
    fired_at = models.DateTimeField()
    mailed_at = models.DateTimeField(null=True, blank=True)
    stop_after = models.DateTimeField(null=True, blank=True, help_text="stop_workspaces: when running workspaces stop.")

    class Meta:
        ordering = ["-fired_at"]
        constraints = [models.UniqueConstraint(fields=["team", "period_start", "kind", "threshold"],
                                               name="budget_alert_once_per_period")]


class BudgetStop(models.Model):
    """The stop that the ``stop_workspaces`` action has announced for a team: it exists while the team
    is over its limit under that action (costs/enforcement.py), and is deleted the moment either
    stops being true (a grant, a new period, another action), which cancels the stop.

    This, not the 100 % alert, carries the deadline: alerts record what was announced once per
    period, this records what is due now.
    """

    team = models.OneToOneField("accounts.Team", on_delete=models.CASCADE, related_name="budget_stop")
    warned_at = models.DateTimeField()
    stop_after = models.DateTimeField(help_text="When the team's running workspaces stop.")
    mailed_at = models.DateTimeField(null=True, blank=True, help_text="When the owners were e-mailed about it.")
    stopped_at = models.DateTimeField(null=True, blank=True, help_text="When the stop was first carried out.")

    def __str__(self):
        return f"Budget stop of {self.team} after {self.stop_after:%Y-%m-%d %H:%M} UTC"
