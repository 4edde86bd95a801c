"""REST endpoints for accounts, tokens, teams and memberships. Thin: the rules live in services."""

from django.contrib.auth import authenticate, get_user_model
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts import selectors, services
from portal.accounts.permissions import IsPlatformAdmin
from portal.accounts.serializers import (
    MembershipCreateInput, MembershipOutput, MembershipUpdateInput, MeOutput, MeUpdateInput, TeamCreateInput,
    TeamOutput, TeamUpdateInput, TokenCreatedOutput, TokenCreateInput, TokenObtainInput, TokenOutput,
    UserCreateInput, UserOutput, UserUpdateInput,
)


def _created_token(token, raw):
    return TokenCreatedOutput({"id": token.id, "name": token.name, "scope": token.scope, "token": raw,
                               "expires": token.expires}).data


# --- Tokens -------------------------------------------------------------------

class TokenObtainApi(APIView):
    """Exchange a username and password for a personal access token.

    Wrong passwords count against PLATFORM_LOGIN_RATE per client and per username; past it the
    answer is 429, whatever the password (the rate-limited authentication backend)."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(tags=["auth"], request=TokenObtainInput, responses={201: TokenCreatedOutput}, auth=[])
    def post(self, request):
        serializer = TokenObtainInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        params = serializer.validated_data
        user = authenticate(request._request, username=params["username"], password=params["password"])
        if user is None:
            raise AuthenticationFailed("Unable to log in with the provided username and password.")
        token, raw = services.token_create(user=user, name=params["name"], days=params.get("expires_in_days"),
                                           scope=params["scope"], request=request._request)
        return Response(_created_token(token, raw), status=status.HTTP_201_CREATED)

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'


@extend_schema(tags=["auth"])
class TokenListApi(generics.ListAPIView):
    """Your personal access tokens (secrets are never shown again)."""

    serializer_class = TokenOutput

    def get_queryset(self):
        return self.request.user.access_tokens.all()

    @extend_schema(request=TokenCreateInput, responses={201: TokenCreatedOutput})
    def post(self, request):
        serializer = TokenCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, raw = services.token_create(
            user=request.user, name=serializer.validated_data["name"], days=serializer.validated_data.get("expires_in_days"),
            scope=serializer.validated_data["scope"], request=request._request,
        )
        return Response(_created_token(token, raw), status=status.HTTP_201_CREATED)


@extend_schema(tags=["auth"])
class TokenDetailApi(generics.RetrieveAPIView):
    """One of your tokens. DELETE revokes it (idempotent)."""

    serializer_class = TokenOutput

    def get_queryset(self):
        return self.request.user.access_tokens.all()

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        token = self.get_object()
        services.token_revoke(token=token, actor=request.user, request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Users --------------------------------------------------------------------

@extend_schema(tags=["users"])
class MeApi(APIView):
    """The caller's account and team memberships (the hub's sign-in reads it with an OAuth `read` token)."""

    oauth_scopes = {"GET": "read"}  # the one view an OAuth token of the platform's apps may use

    @extend_schema(responses=MeOutput)
    def get(self, request):
        user = get_user_model().objects.prefetch_related("memberships__team").get(pk=request.user.pk)
        return Response(MeOutput(user).data)

    @extend_schema(request=MeUpdateInput, responses=MeOutput)
    def patch(self, request):
        serializer = MeUpdateInput(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        current_password = changes.pop("current_password", "")
        user = request.user
        if "email" in changes:
            services.user_email_change(user=user, email=changes.pop("email"), current_password=current_password,
                                       request=request._request)
        for field, value in changes.items():
            setattr(user, field, value)
        if changes:
            user.save(update_fields=list(changes))
        return self.get(request)


@extend_schema(tags=["users"], parameters=[OpenApiParameter("search", str, description="Part of a username or e-mail.")])
class UserListApi(generics.ListAPIView):
    """All users (platform admins only). POST creates a local account."""

    serializer_class = UserOutput
    permission_classes = [IsPlatformAdmin]

    def get_queryset(self):
        return selectors.user_list(search=self.request.query_params.get("search"))

    @extend_schema(request=UserCreateInput, responses={201: UserOutput})
    def post(self, request):
        serializer = UserCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_create(**serializer.validated_data, actor=request.user, request=request._request)
        return Response(UserOutput(user).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["users"])
class UserDetailApi(APIView):
    """One user (platform admins). PATCH ``{"is_active": false}`` deactivates the account at once: its
    tokens are revoked and its sessions end."""

    permission_classes = [IsPlatformAdmin]

    def _user(self, user_id):
        return get_object_or_404(selectors.user_list(), pk=user_id)

    @extend_schema(responses=UserOutput)
    def get(self, request, user_id):
        return Response(UserOutput(self._user(user_id)).data)

    @extend_schema(request=UserUpdateInput, responses=UserOutput)
    def patch(self, request, user_id):
        user = self._user(user_id)
        serializer = UserUpdateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_set_active(user=user, active=serializer.validated_data["is_active"], actor=request.user,
                                 request=request._request)
        return Response(UserOutput(self._user(user_id)).data)


# --- Teams --------------------------------------------------------------------

def _visible_team(request, team_id):
    """404 (not 403) for teams the caller cannot see, so their existence does not leak."""
    return get_object_or_404(selectors.team_list_for(user=request.user), pk=team_id)


def _require_manager(request, team):
    if not selectors.team_can_manage(user=request.user, team=team):
        raise PermissionDenied("Only this team's admins and platform admins may do this.")


@extend_schema(tags=["teams"])
class TeamListApi(generics.ListAPIView):
    """Teams you belong to (platform admins: all teams). POST creates one (platform admins)."""

    serializer_class = TeamOutput

    def get_queryset(self):
        return selectors.team_list_for(user=self.request.user)

    @extend_schema(request=TeamCreateInput, responses={201: TeamOutput})
    def post(self, request):
        if not request.user.is_platform_admin:
            raise PermissionDenied("Only platform admins may create teams.")
        serializer = TeamCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        team = services.team_create(**serializer.validated_data, actor=request.user, request=request._request)
        return Response(TeamOutput(_visible_team(request, team.pk)).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["teams"])
class TeamDetailApi(APIView):
    @extend_schema(responses=TeamOutput)
    def get(self, request, team_id):
        return Response(TeamOutput(_visible_team(request, team_id)).data)

    @extend_schema(request=TeamUpdateInput, responses=TeamOutput)
    def patch(self, request, team_id):
        team = _visible_team(request, team_id)
        _require_manager(request, team)
        serializer = TeamUpdateInput(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.team_update(team=team, actor=request.user, request=request._request, **serializer.validated_data)
        return Response(TeamOutput(_visible_team(request, team_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, team_id):
        team = _visible_team(request, team_id)
        if not request.user.is_platform_admin:
            raise PermissionDenied("Only platform admins may delete teams.")
        services.team_delete(team=team, actor=request.user, request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["teams"])
class MembershipListApi(generics.ListAPIView):
    """A team's members. POST adds one (team admins and platform admins)."""

    serializer_class = MembershipOutput

    def get_queryset(self):
        team = _visible_team(self.request, self.kwargs["team_id"])
        return selectors.team_membership_list(team=team)

    @extend_schema(request=MembershipCreateInput, responses={201: MembershipOutput})
    def post(self, request, team_id):
        team = _visible_team(request, team_id)
        _require_manager(request, team)
        serializer = MembershipCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["username"]
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise ValidationError({"username": f"No user named {username!r}."})
        membership = services.membership_add(team=team, user=user, role=serializer.validated_data["role"],
                                             actor=request.user, request=request._request)
        return Response(MembershipOutput(membership).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["teams"])
class MembershipDetailApi(APIView):
    def _membership(self, request, team_id, username):
        team = _visible_team(request, team_id)
        return team, get_object_or_404(selectors.team_membership_list(team=team), user__username=username)

    @extend_schema(responses=MembershipOutput)
    def get(self, request, team_id, username):
        return Response(MembershipOutput(self._membership(request, team_id, username)[1]).data)

    @extend_schema(request=MembershipUpdateInput, responses=MembershipOutput)
    def patch(self, request, team_id, username):
        team, membership = self._membership(request, team_id, username)
        _require_manager(request, team)
        serializer = MembershipUpdateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.membership_set_role(membership=membership, role=serializer.validated_data["role"],
                                     actor=request.user, request=request._request)
        return Response(MembershipOutput(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request, team_id, username):
        team, membership = self._membership(request, team_id, username)
        if membership.user_id != request.user.pk:  # anyone may leave a team
            _require_manager(request, team)
        services.membership_remove(membership=membership, actor=request.user, request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)
