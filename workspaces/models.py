from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from workspaces.states import workspace_status
from workspaces.units import format_size

WORKSPACE_NAME = RegexValidator(
    r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$",
    "Use 1–40 lower-case letters, digits and dashes, starting and ending with a letter or digit.",
)


class Profile(models.Model):
    """A hardware tier a workspace runs with."""

    name = models.CharField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    cpu = models.DecimalField(max_digits=6, decimal_places=2, validators=[MinValueValidator(Decimal("0.1"))], help_text="Cores; fractions allowed.")
    memory_bytes = models.BigIntegerField()
    gpus = models.PositiveSmallIntegerField(default=0)
    gpu_type = models.CharField(max_length=40, blank=True, help_text="e.g. h100; empty means any type.")
    disk_bytes = models.BigIntegerField(default=10 * 2**30)
    idle_timeout_minutes = models.PositiveIntegerField(default=60, help_text="0 never stops an idle workspace.")
    hourly_price_hint = models.PositiveIntegerField(default=0, help_text="Minor currency units per hour, for display.")
    enabled = models.BooleanField(default=True)
    all_teams = models.BooleanField(default=True, help_text="Every team may use it; otherwise only the teams listed.")
    teams = models.ManyToManyField("accounts.Team", blank=True, related_name="profiles")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["cpu", "memory_bytes", "name"]

    def __str__(self):
        return self.name

    @property
    def summary(self):
        parts = [f"{self.cpu.normalize()} CPU", f"{format_size(self.memory_bytes)} RAM"]
        if self.gpus:
            parts.append(f"{self.gpus} × {self.gpu_type or 'GPU'}")
        parts.append(f"{format_size(self.disk_bytes)} disk")
        return " · ".join(parts)


class Workspace(models.Model):
    class Desired(models.TextChoices):
        RUNNING = "running"
        STOPPED = "stopped"
        DELETED = "deleted"

    class Observed(models.TextChoices):
        NONE = "none"
        PENDING = "pending"
        STARTING = "starting"
        RUNNING = "running"
        STOPPING = "stopping"
        STOPPED = "stopped"
        FAILED = "failed"

    class Failure(models.TextChoices):
        NONE = ""
        SPAWN_ERROR = "spawn_error", "spawn error"
        TIMEOUT = "timeout"
        OUT_OF_MEMORY = "out_of_memory", "out of memory"
        HUB_UNREACHABLE = "hub_unreachable", "hub unreachable"
        SERVER_DIED = "server_died", "server stopped unexpectedly"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workspaces")
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="workspaces")
    name = models.CharField(max_length=40, validators=[WORKSPACE_NAME])
    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="workspaces")
    image = models.CharField(max_length=300, help_text="The environment it launches from.")
    desired_state = models.CharField(max_length=16, choices=Desired.choices, default=Desired.RUNNING)
    observed_state = models.CharField(max_length=16, choices=Observed.choices, default=Observed.NONE)
    failure_reason = models.CharField(max_length=32, choices=Failure.choices, blank=True, default="")
    status_message = models.CharField(max_length=500, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    # Bumped by every start request; a spawn that began under an older generation is stale.
    generation = models.PositiveIntegerField(default=0)
    served_generation = models.PositiveIntegerField(default=0, help_text="The generation the hub's server was started for.")
    start_requested = models.DateTimeField(null=True, blank=True)
    delete_home = models.BooleanField(default=False, help_text="Deleted together with its home (asked for at deletion).")
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    stopped = models.DateTimeField(null=True, blank=True)
    observed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], condition=~models.Q(desired_state="deleted"),
                                    name="workspace_unique_live_name_per_owner"),
        ]

    def __str__(self):
        return f"{self.owner.get_username()}/{self.name}"

    @property
    def server_name(self):
        """The hub's name for this workspace's server; derived from our id, never from user input."""
        return f"ws-{self.pk}"

    @property
    def status(self):
        return workspace_status(self.desired_state, self.observed_state)


class WorkspaceEvent(models.Model):
    """Append-only lifecycle history of a workspace (basis for its timeline and for metering)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="events")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=40)
    actor_username = models.CharField(max_length=150, blank=True)
    message = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self):
        return f"{self.workspace} {self.kind}"
