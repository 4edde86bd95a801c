"""Reads scoped to what the caller may see: a team's members see its projects; everyone else gets 404."""

from django.db.models import Exists, OuterRef, Q
from django.shortcuts import get_object_or_404

from portal.accounts.models import Membership
from projects.models import Project, ProjectTemplate


def project_list_for(*, user, team=None, include_archived=True):
    """Projects of the caller's teams (platform admins: every project), with what list views show
    loaded up front (owners, team)."""
    projects = Project.objects.select_related("team").prefetch_related("owners")
    if not user.is_platform_admin:
        projects = projects.filter(Exists(Membership.objects.filter(team=OuterRef("team"), user=user)))
    if team is not None:
        projects = projects.filter(team=team)
    if not include_archived:
        projects = projects.filter(archived__isnull=True)
    return projects.order_by("team__name", "name")


def project_get_for(*, user, pk):
    """The project if the caller may see it; 404 otherwise (another team's project does not exist for them)."""
    return get_object_or_404(project_list_for(user=user).prefetch_related("members", "stage_changes"), pk=pk)


def project_can_manage(*, user, project):
    """Owners, the team's admins and platform admins change a project."""
    if user.is_platform_admin or project.owners.filter(pk=user.pk).exists():
        return True
    return Membership.objects.filter(team_id=project.team_id, user=user, role=Membership.Role.ADMIN).exists()


def project_member_q(user):
    """A filter on projects the user works in: in the project's team, and an owner, a listed member, or anyone
    for a whole-team project. (Listed people who left the team are no longer in the project.)"""
    in_team = Exists(Membership.objects.filter(team=OuterRef("team"), user=user))
    return in_team & (Q(owners=user) | Q(members=user) | Q(whole_team=True))


def project_is_member(*, user, project):
    return Project.objects.filter(project_member_q(user), pk=project.pk).exists()


def project_launch_choices(*, user, team=None):
    """Live projects the user may launch workspaces in."""
    projects = Project.objects.filter(project_member_q(user), archived__isnull=True).select_related("team")
    if team is not None:
        projects = projects.filter(team=team)
    return projects.distinct().order_by("team__name", "name")


def project_member_usernames(*, project):
    """Who the project's data is for: owners, listed members, or the whole team."""
    team = set(Membership.objects.filter(team_id=project.team_id).values_list("user__username", flat=True))
    if project.whole_team:
        return sorted(team)
    listed = set(project.members.values_list("username", flat=True)) | set(project.owners.values_list("username", flat=True))
    return sorted(listed & team)


def template_list():
    return ProjectTemplate.objects.order_by("name")
