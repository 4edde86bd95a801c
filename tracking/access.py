"""Who may read and write a project's experiments: its members read and write, the rest of its team reads,
platform admins read; nobody else learns that it exists."""

from portal.accounts.models import Membership
from projects.models import Project
from projects.selectors import project_is_member, project_launch_choices


def project_for_key(key):
    """The project of a namespace key, or None."""
    if key is None:
        return None
    return Project.objects.select_related("team").filter(team__slug=key.team, slug=key.project).first()


def project_can_read(*, user, project):
    return user.is_platform_admin or Membership.objects.filter(team_id=project.team_id, user=user).exists()


def project_can_write(*, user, project):
    """Members of a live project (an archived project is read-only, here as everywhere)."""
    return not project.is_archived and project_is_member(user=user, project=project)


def writable_namespaces(*, user):
    """The namespaces a person may create experiments in, for messages that say what would work."""
    return [str(project) for project in project_launch_choices(user=user)]
