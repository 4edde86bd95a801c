"""Who may read and write a project's experiments: its members read and write, the rest of its team reads,
platform admins read; nobody else learns that it exists."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef

from portal.accounts.models import Membership
from projects.models import Project
from projects.selectors import project_launch_choices, project_member_q


@dataclass(frozen=True)
class ProjectAccess:
    project: object  # None: no such project
    can_read: bool
    can_write: bool


def project_access(*, user, key):
    """What `user` may do in the project of a namespace key, in one query (it runs on every MLflow call)."""
    project = (Project.objects.select_related("team").filter(team__slug=key.team, slug=key.project)
               .annotate(in_team=Exists(Membership.objects.filter(team=OuterRef("team"), user=user)),
                         member=Exists(Project.objects.filter(project_member_q(user), pk=OuterRef("pk"))))
               .first())
    if project is None:
        return ProjectAccess(None, False, False)
    return ProjectAccess(project, user.is_platform_admin or project.in_team,
                         project.in_team and project.member and not project.is_archived)


def writable_namespaces(*, user):
    """The namespaces a person may create experiments in, for messages that say what would work."""
    return [str(project) for project in project_launch_choices(user=user)]
