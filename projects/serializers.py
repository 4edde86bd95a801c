from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.accounts.models import Team
from portal.accounts.selectors import team_list_for
from projects.models import Project, ProjectStageChange, ProjectTemplate
from projects.stages import STAGE_CHOICES


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string", "example": "data-science"}]})
class TeamReferenceField(serializers.Field):
    """A team the caller may see, by id or slug. Other teams read as unknown: their existence does not leak."""

    def to_internal_value(self, data):
        teams = team_list_for(user=self.context["request"].user)
        text = str(data).strip()
        lookup = {"pk": int(text)} if text.isdigit() and len(text) < 19 else {"slug": text}
        try:
            return teams.get(**lookup)
        except Team.DoesNotExist:
            raise serializers.ValidationError(f"You are not a member of a team {text!r}.") from None

    def to_representation(self, value):
        return value.slug


class StageChangeOutput(serializers.ModelSerializer):
    class Meta:
        model = ProjectStageChange
        fields = ["stage", "entered", "actor_username"]


class ProjectOutput(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(read_only=True, slug_field="slug")
    team_id = serializers.IntegerField(read_only=True)
    owners = serializers.SlugRelatedField(many=True, read_only=True, slug_field="username")
    members = serializers.SlugRelatedField(many=True, read_only=True, slug_field="username",
                                           help_text="The people listed (with whole_team, the whole team is in it).")
    stage_label = serializers.CharField(source="get_stage_display", read_only=True)
    timeline = StageChangeOutput(source="stage_changes", many=True, read_only=True)
    archived = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Project
        fields = ["id", "team", "team_id", "name", "slug", "description", "owners", "whole_team", "members", "stage",
                  "stage_label", "timeline", "repository_url", "board_url", "template", "archived", "created",
                  "created_by"]


class ProjectCreateInput(serializers.Serializer):
    team = TeamReferenceField()
    name = serializers.CharField(max_length=100)
    slug = serializers.CharField(max_length=50, required=False, default="", allow_blank=True,
                                 help_text="Unique in the team; derived from the name when left out.")
    description = serializers.CharField(required=False, default="", allow_blank=True, max_length=5000)
    owners = serializers.ListField(child=serializers.CharField(max_length=150), required=False, default=list,
                                   help_text="Usernames in the team; default: you.")
    members = serializers.ListField(child=serializers.CharField(max_length=150), required=False, default=list)
    whole_team = serializers.BooleanField(required=False, default=True)
    stage = serializers.CharField(required=False, default="define", max_length=32)
    repository_url = serializers.CharField(required=False, default="", allow_blank=True, max_length=500)
    board_url = serializers.CharField(required=False, default="", allow_blank=True, max_length=500)


class ProjectUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    owners = serializers.ListField(child=serializers.CharField(max_length=150), required=False)
    members = serializers.ListField(child=serializers.CharField(max_length=150), required=False)
    whole_team = serializers.BooleanField(required=False)
    repository_url = serializers.CharField(required=False, allow_blank=True, max_length=500)
    board_url = serializers.CharField(required=False, allow_blank=True, max_length=500)


class StageInput(serializers.Serializer):
    stage = serializers.ChoiceField(choices=STAGE_CHOICES)


class ProjectTemplateOutput(serializers.ModelSerializer):
    class Meta:
        model = ProjectTemplate
        fields = ["id", "name", "source", "description", "is_default", "created", "created_by"]


class ProjectTemplateInput(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    source = serializers.CharField(max_length=500, help_text="A cookiecutter directory on the platform or a Git URL.")
    description = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)
    is_default = serializers.BooleanField(required=False, default=False)


class DefaultTemplateInput(serializers.Serializer):
    template = serializers.CharField(max_length=60, help_text="A registered template's name, or dslp (the built-in one).")


class DefaultTemplateOutput(serializers.Serializer):
    template = serializers.CharField()
