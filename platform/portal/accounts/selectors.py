"""Reads scoped to what the caller may see."""

from django.contrib.auth import get_user_model
from django.db.models import Count, OuterRef, Prefetch, Subquery

from portal.accounts.models import Membership, Team


def team_list_for(*, user):
    """Platform admins see every team; everyone else only the teams they belong to."""
    my_role = Membership.objects.filter(team=OuterRef("pk"), user=user).values("role")[:1]
    teams = Team.objects.annotate(member_count=Count("memberships", distinct=True), my_role=Subquery(my_role))
    if not user.is_platform_admin:
        teams = teams.filter(memberships__user=user)
    return teams.order_by("name")


def team_role(*, user, team):
    """``'admin'``, ``'member'`` or None."""
    return Membership.objects.filter(team=team, user=user).values_list("role", flat=True).first()


def team_can_manage(*, user, team):
    return user.is_platform_admin or team_role(user=user, team=team) == Membership.Role.ADMIN


def team_membership_list(*, team):
    return Membership.objects.filter(team=team).select_related("user", "team").order_by("user__username")


def user_list(*, search=None):
    users = get_user_model().objects.prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.select_related("team"))
    ).order_by("username")
    if search:
        users = users.filter(username__icontains=search) | users.filter(email__icontains=search)
    return users


def user_memberships(*, user):
    return Membership.objects.filter(user=user).select_related("team").order_by("team__name")
