from django.db.models import Q

from workspaces import budgets
from workspaces.models import Profile, Workspace


def profile_list_for(*, user, team=None):
    """Enabled profiles the user may launch: open to all teams, or to one of the user's teams (or ``team``)."""
    profiles = Profile.objects.filter(enabled=True)
    if team is not None:
        return profiles.filter(Q(all_teams=True) | Q(teams=team)).distinct()
    return profiles.filter(Q(all_teams=True) | Q(teams__memberships__user=user)).distinct()


def workspace_list_for(*, user):
    """The caller's own live workspaces (deleted ones are history, not listed)."""
    return (Workspace.objects.filter(owner=user).exclude(desired_state=Workspace.Desired.DELETED)
            .select_related("owner", "team", "profile", "project"))


def workspace_for_hub_server(*, username, server_name):
    if not server_name.startswith("ws-") or not server_name[3:].isdigit():
        return None
    return (Workspace.objects.select_related("owner", "team", "profile")
            .filter(pk=int(server_name[3:]), owner__username=username).first())


def workspace_budget_stop(*, workspace, stops=None):
    """{"deadline"} while the team's budget stop (costs app, stop_workspaces) is announced and this
    workspace still runs; None otherwise. ``stops``: costs.alerts.budget_stops_by_team(), for lists."""
    if workspace.desired_state != Workspace.Desired.RUNNING:
        return None
    stop = stops.get(workspace.team_id) if stops is not None else budgets.budget_stop_for(team_id=workspace.team_id)
    return {"deadline": stop.stop_after} if stop is not None else None
