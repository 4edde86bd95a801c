from decimal import Decimal

from django import forms

from images.forms import launch_choice_label
from images.selectors import default_choice, launch_choices
from portal.accounts.models import Team
from projects.selectors import project_launch_choices
from workspaces import budgets
from workspaces.selectors import profile_list_for
from workspaces.units import parse_size


class WorkspaceCreateForm(forms.Form):
    name = forms.CharField(max_length=40, help_text="Lower-case letters, digits and dashes, e.g. churn-model.")
    profile = forms.ModelChoiceField(queryset=None, empty_label=None, label="Size")
    team = forms.ModelChoiceField(queryset=None, empty_label=None, required=False, help_text="Who pays for it.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["profile"].queryset = profile_list_for(user=user)
        teams = Team.objects.filter(memberships__user=user).order_by("name")
        self.fields["team"].queryset = teams
        if teams.count() <= 1:
            self.fields["team"].widget = forms.HiddenInput()
        team = self._chosen_team(teams)
        sheet, budget = budgets.price_sheet_at(), budgets.team_budget_left(team=team) if team else None
        self.fields["profile"].label_from_instance = (
            lambda profile: f"{profile.name} — {profile.summary}{budgets.profile_price_label(profile, sheet, budget)}")
        self._add_image_field(user, team)
        projects = project_launch_choices(user=user)
        self.fields["project"] = forms.ModelChoiceField(
            queryset=projects, required=False, empty_label="— none —",
            help_text="Its costs go to the project, and its budget applies. A project of the workspace's team.")
        self.fields["project"].label_from_instance = lambda project: f"{project.name} ({project.team.name})"
        self.fields["project_files"] = forms.BooleanField(
            required=False, initial=True, label="Add the project's files to the home",
            help_text="The project template (issue templates, folders, pipeline), committed with git, in ~/<project>.")
        # Unticked when the form is posted without it (a script, a test client): only a browser's form opens the lab.
        self.fields["open_lab"] = forms.BooleanField(
            required=False, initial=True, label="Open JupyterLab when it is ready",
            help_text="The progress page opens it by itself; untick to stay on the page.")

    def _chosen_team(self, teams):
        chosen = str(self.data.get("team", "")) if self.is_bound else ""
        return next((t for t in teams if str(t.pk) == chosen), None) or teams.first()

    def _add_image_field(self, user, team):
        """The catalog's choices for the chosen (or only) team, with their badges in the labels."""
        choices = launch_choices(user=user, team=team)
        default = default_choice(choices)
        self.fields["image"] = forms.ChoiceField(
            label="Image", choices=[(c.value, launch_choice_label(c)) for c in choices], widget=forms.RadioSelect, required=False,
            initial=default.value if default else None,
            help_text="Only images approved for your team. Deprecated ones launch their replacement; blocked ones say why.")


class SizeFormField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        try:
            return parse_size(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class ProfileForm(forms.Form):
    name = forms.CharField(max_length=60)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    cpu = forms.DecimalField(min_value=Decimal("0.1"), max_value=512, decimal_places=2, help_text="Cores, e.g. 0.5 or 4.")
    memory = SizeFormField(help_text="e.g. 4G or 512Mi.")
    gpus = forms.IntegerField(min_value=0, max_value=16, initial=0)
    gpu_type = forms.CharField(required=False, max_length=40)
    disk = SizeFormField(initial="10Gi")
    idle_timeout_minutes = forms.IntegerField(min_value=0, max_value=60 * 24 * 30, required=False, label="Idle timeout (minutes)",
                                              help_text="Stop workspaces idle this long; 0: never; empty: the platform default.")
    max_age_hours = forms.IntegerField(min_value=0, max_value=24 * 365, required=False, label="Maximum age (hours)",
                                       help_text="Stop workspaces running this long; 0: never; empty: the platform default.")
    hourly_price_hint = budgets.MoneyField(label="Hourly price hint", initial=0, required=False, max_amount=10**9,
                                   help_text="For your own notes; the launch form shows the price from Admin → Prices.")
    enabled = forms.BooleanField(required=False, initial=True)
    all_teams = forms.BooleanField(required=False, initial=True, label="Open to all teams")
    teams = forms.ModelMultipleChoiceField(queryset=Team.objects.all(), required=False)
