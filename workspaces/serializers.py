from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.accounts.models import Team
from portal.accounts.serializers import VisibleTeamField
from workspaces import budgets
from workspaces.models import Profile, Workspace, WorkspaceEvent
from workspaces.selectors import workspace_budget_stop
from workspaces.units import format_size, parse_size


@extend_schema_field({"oneOf": [{"type": "string", "example": "4Gi"}, {"type": "integer"}]})
class SizeField(serializers.Field):
    """Accepts "4G", "512Mi" or a number of bytes; answers bytes."""

    def to_internal_value(self, data):
        try:
            return parse_size(data)
        except (TypeError, ValueError) as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value):
        return value


class BudgetHoursOutput(serializers.Serializer):
    team = serializers.CharField(source="team.slug")
    remaining = serializers.IntegerField(help_text="Minor units left this period.")
    hours = serializers.FloatField(allow_null=True, help_text="Hours of this size the rest pays for, rounded down to a tenth.")


class ProfileOutput(serializers.ModelSerializer):
    memory = serializers.SerializerMethodField()
    disk = serializers.SerializerMethodField()
    teams = serializers.SlugRelatedField(many=True, read_only=True, slug_field="slug")
    summary = serializers.CharField(read_only=True)
    hourly_price = serializers.SerializerMethodField(help_text="Minor units per hour at the prices in force (costs app).")
    hourly_price_decimal = serializers.SerializerMethodField(help_text='The hourly price in currency units, e.g. "0.21".')
    currency = serializers.SerializerMethodField()
    budget_hours = serializers.SerializerMethodField(
        help_text="For each of your teams with a budget: what remains this period and how many hours of this size it "
                  "pays for if nothing else ran (null: the size costs nothing at the prices in force).")

    class Meta:
        model = Profile
        fields = ["id", "name", "description", "cpu", "memory_bytes", "memory", "gpus", "gpu_type", "disk_bytes", "disk",
                  "idle_timeout_minutes", "max_age_hours", "hourly_price_hint", "hourly_price", "hourly_price_decimal",
                  "currency", "budget_hours", "enabled", "all_teams", "teams", "summary", "starter"]

    def _sheet(self):
        if "price_sheet" not in self.context:  # one look-up per response, not per profile
            self.context["price_sheet"] = budgets.price_sheet_at()
        return self.context["price_sheet"]

    def _price(self, profile):
        return budgets.profile_hourly_price(profile, self._sheet())

    def get_hourly_price(self, profile) -> int:
        return self._price(profile)[0]

    def get_hourly_price_decimal(self, profile) -> str:
        return str(budgets.minor_to_major(*self._price(profile)))

    def get_currency(self, profile) -> str:
        return self._price(profile)[1]

    @extend_schema_field(BudgetHoursOutput(many=True))
    def get_budget_hours(self, profile):
        request = self.context.get("request")
        if request is None or not request.user.is_authenticated:
            return []
        if "budgets" not in self.context:  # the caller's teams' budgets, once per response
            teams = Team.objects.filter(memberships__user=request.user).order_by("name")
            self.context["budgets"] = [left for left in (budgets.team_budget_left(team=team) for team in teams) if left]
        return [BudgetHoursOutput(item).data for item in
                budgets.profile_budget_hours(profile=profile, sheet=self._sheet(), budgets=self.context["budgets"])]

    def get_memory(self, profile) -> str:
        return format_size(profile.memory_bytes)

    def get_disk(self, profile) -> str:
        return format_size(profile.disk_bytes)


class ProfileInput(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    cpu = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=Decimal("0.1"), max_value=Decimal("512"))
    memory = SizeField(help_text='e.g. "4G", "512Mi" or bytes')
    gpus = serializers.IntegerField(min_value=0, max_value=16, default=0)
    gpu_type = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    disk = SizeField(required=False, default=10 * 2**30)
    idle_timeout_minutes = serializers.IntegerField(
        min_value=0, max_value=60 * 24 * 30, allow_null=True, default=None,
        help_text="Stop a workspace idle this long; 0: never; null: the platform default.")
    max_age_hours = serializers.IntegerField(
        min_value=0, max_value=24 * 365, allow_null=True, default=None,
        help_text="Stop a workspace running this long; 0: never; null: the platform default.")
    hourly_price_hint = serializers.IntegerField(min_value=0, max_value=10**9, default=0)
    enabled = serializers.BooleanField(default=True)
    all_teams = serializers.BooleanField(default=True)
    teams = serializers.SlugRelatedField(many=True, slug_field="slug", queryset=Team.objects.all(), required=False, default=list)


class CullWarningOutput(serializers.Serializer):
    deadline = serializers.DateTimeField(help_text="When it stops unless used or kept running.")
    reason = serializers.CharField(help_text='e.g. "idle for 30 min", "reached maximum age 12 h"')
    can_keep_running = serializers.BooleanField(help_text="False once this run used its one 'keep running'.")


class BudgetStopOutput(serializers.Serializer):
    deadline = serializers.DateTimeField(help_text="When the team's running workspaces stop unless the budget is raised.")


class WorkspaceOutput(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")
    team = serializers.CharField(source="team.slug")
    project = serializers.CharField(source="project.slug", allow_null=True, read_only=True,
                                    help_text="The project it works for (slug in its team), or null.")
    project_id = serializers.IntegerField(allow_null=True, read_only=True)
    profile = serializers.CharField(source="profile.name")
    status = serializers.ChoiceField(choices=["pending", "starting", "running", "stopping", "stopped", "failed", "deleted"])
    url = serializers.SerializerMethodField()
    cull_warning = CullWarningOutput(read_only=True, allow_null=True,
                                     help_text="Set while an automatic stop (idle or maximum age) is pending.")
    budget_stop = serializers.SerializerMethodField(
        help_text="Set while the team's budget is used up and its workspaces stop at `deadline` (stop_workspaces).")

    class Meta:
        model = Workspace
        fields = ["id", "name", "owner", "team", "project", "project_id", "profile", "image", "status", "status_message", "failure_reason",
                  "progress", "url", "created", "started", "stopped", "cull_warning", "budget_stop"]

    @extend_schema_field(BudgetStopOutput(allow_null=True))
    def get_budget_stop(self, workspace):
        if workspace.desired_state != Workspace.Desired.RUNNING:
            return None  # only a running workspace can be stopped: a list of stopped ones needs no look-up
        if "budget_stops" not in self.context:  # one query per response, not per workspace
            self.context["budget_stops"] = budgets.budget_stops_by_team()
        stop = workspace_budget_stop(workspace=workspace, stops=self.context["budget_stops"])
        return BudgetStopOutput(stop).data if stop else None

    def get_url(self, workspace) -> str | None:
        """Where JupyterLab answers once the workspace runs (on its owner's own host with per-user subdomains)."""
        if workspace.status != "running":
            return None
        return workspace.lab_url


class WorkspaceCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    profile = serializers.CharField(help_text="Profile id or name.")
    image = serializers.CharField(required=False, allow_blank=True, default="", max_length=300,
                                  help_text="A catalog entry: platform/python:TAG, REPO@sha256:…, or local:NAME "
                                            "(GET /api/v1/images/choices/ lists yours). Default: the recommended one. "
                                            "Stored pinned by digest.")
    team = VisibleTeamField(required=False, default=None, help_text="Team slug; needed only when you are in several teams.")
    project = serializers.CharField(required=False, default=None, allow_null=True, max_length=120,
                                    help_text="A project of the team to work in and charge (id, slug or team/slug); "
                                              "the team defaults to the project's.")
    project_files = serializers.BooleanField(required=False, default=False,
                                             help_text="Write the project's template files into the home once it runs.")


class ProjectFilesInput(serializers.Serializer):
    template = serializers.CharField(required=False, allow_blank=True, default="", max_length=60,
                                     help_text="A template's name (GET /api/v1/project-templates/); default: the default one.")
    project = serializers.CharField(required=False, default=None, allow_null=True, max_length=120,
                                    help_text="For a workspace in no project: the project the files are for (id, slug or team/slug).")


class WorkspaceEventOutput(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_username")

    class Meta:
        model = WorkspaceEvent
        fields = ["id", "created", "kind", "actor", "message", "data"]


class WorkspaceDeleteInput(serializers.Serializer):
    delete_home = serializers.BooleanField(default=False, help_text="Also delete the workspace's home and every file in it.")
