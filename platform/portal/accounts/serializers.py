from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.accounts.models import AccessToken, Membership, Team, User
from portal.accounts.selectors import team_list_for


@extend_schema_field({"type": "string", "description": "A team's slug."})
class VisibleTeamField(serializers.SlugRelatedField):
    """A team slug the caller may see (their teams; platform admins: all). Needs the request in the
    serializer's context. Other teams' slugs get the same answer as made-up ones: their existence
    does not leak."""

    default_error_messages = {"does_not_exist": "You are not a member of a team {value!r}."}

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", **kwargs)

    def get_queryset(self):
        return team_list_for(user=self.context["request"].user)

    def to_internal_value(self, data):
        try:
            return self.get_queryset().get(slug=str(data))
        except Team.DoesNotExist:
            self.fail("does_not_exist", value=str(data))


def _scope_field():
    return serializers.ChoiceField(
        choices=AccessToken.Scope.choices, required=False, default=AccessToken.Scope.WRITE,
        help_text="read: GET requests and registry pulls only; write (default): everything you may do.")


class TokenObtainInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(max_length=100, required=False, default="API token")
    expires_in_days = serializers.IntegerField(required=False, min_value=1, max_value=settings.PLATFORM_TOKEN_MAX_DAYS)
    scope = _scope_field()


class TokenCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expires_in_days = serializers.IntegerField(required=False, min_value=1, max_value=settings.PLATFORM_TOKEN_MAX_DAYS)
    scope = _scope_field()


class TokenOutput(serializers.ModelSerializer):
    state = serializers.ChoiceField(choices=["active", "expired", "revoked"], read_only=True)

    class Meta:
        model = AccessToken
        fields = ["id", "name", "scope", "prefix", "created", "expires", "last_used", "revoked", "state"]


class TokenCreatedOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    scope = serializers.ChoiceField(choices=AccessToken.Scope.choices)
    token = serializers.CharField(help_text="The secret. Shown only in this response: store it now.")
    expires = serializers.DateTimeField()


class TeamRefOutput(serializers.Serializer):
    id = serializers.IntegerField(source="team.id")
    name = serializers.CharField(source="team.name")
    slug = serializers.CharField(source="team.slug")
    role = serializers.CharField()


class MeOutput(serializers.ModelSerializer):
    is_platform_admin = serializers.BooleanField(read_only=True)
    teams = TeamRefOutput(many=True, source="memberships")

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "is_platform_admin", "teams", "date_joined", "last_login"]


class MeUpdateInput(serializers.Serializer):
    email = serializers.EmailField(required=False, allow_blank=True, help_text="Changing it needs current_password.")
    current_password = serializers.CharField(required=False, allow_blank=True, write_only=True, trim_whitespace=False,
                                             max_length=4096, style={"input_type": "password"})
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)


class UserOutput(serializers.ModelSerializer):
    is_platform_admin = serializers.BooleanField(read_only=True)
    teams = TeamRefOutput(many=True, source="memberships")

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "is_active", "is_platform_admin", "teams", "date_joined", "last_login"]


class UserCreateInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    password = serializers.CharField(required=False, allow_blank=True, write_only=True, trim_whitespace=False,
                                     help_text="Leave out to e-mail the user a link to choose one.")
    is_platform_admin = serializers.BooleanField(required=False, default=False)


class UserUpdateInput(serializers.Serializer):
    is_active = serializers.BooleanField(help_text="false deactivates the account: its tokens and sessions end at once.")


class TeamOutput(serializers.ModelSerializer):
    member_count = serializers.IntegerField(read_only=True)
    my_role = serializers.CharField(read_only=True, allow_null=True, help_text="Your role in the team, or null.")

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "description", "created", "member_count", "my_role"]


class TeamCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    slug = serializers.SlugField(max_length=100, required=False)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class TeamUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(required=False, allow_blank=True)


class MembershipOutput(serializers.ModelSerializer):
    user_id = serializers.IntegerField(source="user.id")
    username = serializers.CharField(source="user.username")
    full_name = serializers.CharField(source="user.get_full_name")
    team = serializers.IntegerField(source="team_id")

    class Meta:
        model = Membership
        fields = ["id", "team", "user_id", "username", "full_name", "role", "created"]


class MembershipCreateInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.MEMBER)


class MembershipUpdateInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)
