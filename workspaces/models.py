from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from workspaces.culling import Limits, format_duration
from workspaces.hub import server_public_url
from workspaces.states import Desired, Failure, Observed, workspace_status
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
    idle_timeout_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Stop a workspace idle this long; 0 never; empty: the platform default.")
    max_age_hours = models.PositiveIntegerField(
        null=True, blank=True, help_text="Stop a workspace running this long; 0 never; empty: the platform default.")
    hourly_price_hint = models.PositiveIntegerField(default=0, help_text="Minor currency units per hour, for display.")
    enabled = models.BooleanField(default=True)
    all_teams = models.BooleanField(default=True, help_text="Every team may use it; otherwise only the teams listed.")
    teams = models.ManyToManyField("accounts.Team", blank=True, related_name="profiles")
    starter = models.BooleanField(default=False, help_text="Made at the platform's first start from the machine's size "
                                                           "(workspaces/starter.py); edit or remove it like any other.")
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

    def culling_limits(self):
        """The idle-culling limits of this size, with the platform defaults where it sets none (0 = never)."""
        idle = settings.PLATFORM_CULL_IDLE_MINUTES if self.idle_timeout_minutes is None else self.idle_timeout_minutes
        age = settings.PLATFORM_CULL_MAX_AGE_HOURS if self.max_age_hours is None else self.max_age_hours
        return Limits(idle_timeout=timedelta(minutes=idle) if idle else None, max_age=timedelta(hours=age) if age else None,
                      warning=timedelta(minutes=settings.PLATFORM_CULL_WARNING_MINUTES),
                      extension=timedelta(minutes=settings.PLATFORM_CULL_EXTENSION_MINUTES))

    @property
    def culling_summary(self):
        """e.g. "idle 1 h (default) · max age 12 h", for admin pages."""
        limits = self.culling_limits()
        idle = f"idle {format_duration(limits.idle_timeout)}" if limits.idle_timeout else "never when idle"
        age = f"max age {format_duration(limits.max_age)}" if limits.max_age else "no max age"
        return (f"{idle}{' (default)' if self.idle_timeout_minutes is None else ''} · "
                f"{age}{' (default)' if self.max_age_hours is None else ''}")


class Workspace(models.Model):
    Desired, Observed, Failure = Desired, Observed, Failure  # written once, in workspaces/states.py

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workspaces")
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="workspaces")
    # The project it works for (of the same team): its costs are attributed to it (costs app).
    project = models.ForeignKey("projects.Project", on_delete=models.PROTECT, null=True, blank=True, related_name="workspaces")
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
    # Billing follows what really ran (docs/operations/restarts.md): when a server ends by itself, its run
    # ends at the last moment it was seen alive, by the spawner (its report) or else by the janitor.
    last_seen_alive = models.DateTimeField(null=True, blank=True, help_text="The janitor last saw the hub list it running.")
    server_ended_at = models.DateTimeField(null=True, blank=True, help_text="The spawner last saw it alive before it ended.")
    vanished_at = models.DateTimeField(null=True, blank=True, help_text="When the portal found it gone with no word why.")
    # Why the last stop was asked for (e.g. "idle for 30 min"); shown once the workspace has stopped.
    stop_reason = models.CharField(max_length=200, blank=True)
    # Idle culling (workspaces/culling_services.py), for the run of generation `cull_generation` only:
    # a restart starts a new run, and the values of an older run are ignored.
    cull_generation = models.PositiveIntegerField(default=0)
    cull_warned_at = models.DateTimeField(null=True, blank=True)
    cull_deadline = models.DateTimeField(null=True, blank=True, help_text="When the warned-about stop happens.")
    cull_reason = models.CharField(max_length=200, blank=True)
    cull_mailed_at = models.DateTimeField(null=True, blank=True)
    cull_extended_until = models.DateTimeField(null=True, blank=True, help_text="Set by the one 'keep running' of a run.")

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

    @property
    def lab_url(self):
        """Where people open JupyterLab: an absolute URL, on the owner's own host with per-user subdomains."""
        return server_public_url(settings.PLATFORM_PUBLIC_URL, self.owner.get_username(), self.server_name,
                                 subdomains=settings.PLATFORM_WORKSPACE_SUBDOMAINS, path="lab")

    @property
    def kept_running(self):
        """True once this run used its one 'keep running'."""
        return self.cull_generation == self.generation and self.cull_extended_until is not None

    @property
    def cull_warning(self):
        """The automatic stop this run was warned about (dict with deadline, reason, can_keep_running), or None."""
        if self.cull_generation != self.generation or self.cull_warned_at is None or self.desired_state != self.Desired.RUNNING:
            return None
        return {"deadline": self.cull_deadline, "reason": self.cull_reason, "can_keep_running": not self.kept_running}


class WorkspaceEvent(models.Model):
    """Append-only lifecycle history of a workspace (basis for its timeline and for metering)."""

    class Kind(models.TextChoices):
        # What people (or the platform for them) asked for.
        CREATED = "created"
        START_REQUESTED = "start_requested"
        STOP_REQUESTED = "stop_requested"
        RESTART_REQUESTED = "restart_requested"
        DELETE_REQUESTED = "delete_requested"
        CULLED = "culled"  # a stop asked for by idle culling
        # What the reconciler saw at the hub (the observed states that change, and the steps it took).
        SPAWN_REQUESTED = "spawn_requested"
        SPAWN_RETRIED = "spawn_retried"
        STARTING = "starting"
        RUNNING = "running"
        STOPPING = "stopping"
        STOPPED = "stopped"
        FAILED = "failed"
        # What only the spawner saw (its reports).
        SPAWN_REFUSED = "spawn_refused"
        SERVER_EXITED = "server_exited"
        OUT_OF_MEMORY = "out_of_memory"  # a kernel killed, the server still up
        HOME_DELETED = "home_deleted"
        # Warnings shown on the workspace.
        CULL_WARNING = "cull_warning"
        KEPT_RUNNING = "kept_running"
        BUDGET_WARNING = "budget_warning"
        BUDGET_WARNING_CLEARED = "budget_warning_cleared"
        # The project's template written into the home (workspaces/project_files.py), or why not.
        PROJECT_FILES = "project_files"
        PROJECT_FILES_FAILED = "project_files_failed"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="events")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=40, choices=Kind.choices)
    actor_username = models.CharField(max_length=150, blank=True)
    message = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self):
        return f"{self.workspace} {self.kind}"
