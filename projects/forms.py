from django import forms
from django.contrib.auth import get_user_model

from portal.accounts.models import Team
from portal.accounts.selectors import team_list_for
from projects.stages import STAGE_CHOICES


def _people_field(label, help_text):
    return forms.ModelMultipleChoiceField(queryset=get_user_model().objects.none(), required=False, label=label,
                                          help_text=help_text, widget=forms.CheckboxSelectMultiple)


class ProjectForm(forms.Form):
    """Create (with a team) or edit (without) a project; people are chosen among the team's members."""

    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)
    name = forms.CharField(max_length=100)
    slug = forms.CharField(max_length=50, required=False, help_text="Unique in the team; left empty: made from the name.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    repository_url = forms.CharField(required=False, max_length=500, label="Repository URL")
    board_url = forms.CharField(required=False, max_length=500, label="Board URL", help_text="Issues or project board.")
    whole_team = forms.BooleanField(required=False, initial=True, label="The whole team works in it",
                                    help_text="Otherwise only the owners and the members ticked below.")
    owners = _people_field("Owners", "They change the project and its stage (with the team's admins). Default: you.")
    members = _people_field("Members", "Only when the whole team does not work in it.")

    def __init__(self, *args, user, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        if project is not None:
            del self.fields["team"], self.fields["slug"]
            team_ids = [project.team_id]
        else:
            self.fields["team"].queryset = team_list_for(user=user)
            chosen = str(self.data.get("team", "")) if self.is_bound else ""
            team_ids = [int(chosen)] if chosen.isdigit() else list(self.fields["team"].queryset.values_list("pk", flat=True)[:1])
        people = get_user_model().objects.filter(memberships__team_id__in=team_ids, is_active=True).order_by("username")
        self.fields["owners"].queryset = self.fields["members"].queryset = people

    def service_arguments(self):
        data = dict(self.cleaned_data)
        data["owners"] = [user.username for user in data["owners"]]
        data["members"] = [user.username for user in data["members"]]
        return data


class StageForm(forms.Form):
    stage = forms.ChoiceField(choices=STAGE_CHOICES, label="Move to stage")


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=60)
    source = forms.CharField(max_length=500, help_text="A Git URL the platform can clone, or the absolute path of a "
                                                       "cookiecutter directory on the platform's machine.")
    description = forms.CharField(max_length=300, required=False)
    is_default = forms.BooleanField(required=False, label="Make it the default")
