"""Every rule and every write about projects: keyword-only functions that raise ValidationError naming
the field at fault, with an audit event in the transaction of each change.

Rules: members of a team see its projects; its members create them (and own what they create); owners,
team admins and platform admins change them; an archived project is read-only until it is restored.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from portal.accounts.models import Membership
from portal.audit.services import audit_record
from projects.models import PROJECT_SLUG, Project, ProjectStageChange
from projects.selectors import project_can_manage
from projects.stages import STAGE_BY_VALUE, STAGES

EDITABLE = ("name", "description", "repository_url", "board_url", "whole_team", "owners", "members")


def _team_users(team, usernames, field):
    """The users named, each of whom must be in the team; a clear error naming the field otherwise."""
    usernames = [str(name).strip() for name in usernames or [] if str(name).strip()]
    users = {user.username: user for user in get_user_model().objects.filter(
        username__in=usernames, memberships__team=team, is_active=True)}
    missing = [name for name in usernames if name not in users]
    if missing:
        raise ValidationError({field: f"Not a member of team {team.slug}: {', '.join(sorted(set(missing)))}."})
    return list(users.values())


def _check_url(value, field):
    if value:
        try:
            URLValidator(schemes=["http", "https", "ssh", "git"])(value)
        except ValidationError:
            raise ValidationError({field: "Give an http(s), ssh or git URL."}) from None
    return value or ""


def _check_stage(stage):
    if stage not in STAGE_BY_VALUE:
        raise ValidationError({"stage": f"Unknown stage {stage!r}; one of: {', '.join(s.value for s in STAGES)}."})
    return stage


def project_create(*, actor, team, name, slug="", description="", owners=None, members=None, whole_team=True,
                   repository_url="", board_url="", stage="define", template="", request=None):
    """Create a project in ``team`` (the actor must belong to it; they own it unless owners are named)."""
    if not (actor.is_platform_admin or Membership.objects.filter(team=team, user=actor).exists()):
        raise ValidationError({"team": "You are not a member of that team."})
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the project a name."})
    slug = (slug or slugify(name)[:50].strip("-")).strip()
    try:
        PROJECT_SLUG(slug)
    except ValidationError as exc:
        raise ValidationError({"slug": exc.messages}) from None
    _check_stage(stage)
    owner_users = _team_users(team, owners, "owners") if owners else [actor]
    member_users = _team_users(team, members, "members")
    if Project.objects.filter(team=team, slug=slug).exists():
        raise ValidationError({"slug": f"Team {team.slug} already has a project {slug!r}."})
    try:
        with transaction.atomic():
            project = Project.objects.create(
                team=team, name=name[:100], slug=slug, description=description or "", whole_team=whole_team,
                stage=stage, repository_url=_check_url(repository_url, "repository_url"),
                board_url=_check_url(board_url, "board_url"), template=template or "", created_by=actor.get_username())
            project.owners.set(owner_users)
            project.members.set(member_users)
            ProjectStageChange.objects.create(project=project, stage=stage, actor_username=actor.get_username())
            audit_record(action="project.create", actor=actor, request=request, target=project,
                         data={"team": team.slug, "slug": slug, "stage": stage})
    except IntegrityError:
        raise ValidationError({"slug": f"Team {team.slug} already has a project {slug!r}."}) from None
    return project


def _lock_for_change(project, actor):
    """The project's row, locked; refuses people who may not change it and changes to an archived project."""
    if not project_can_manage(user=actor, project=project):
        raise PermissionDenied("Only the project's owners and the team's admins change it.")
    project = Project.objects.select_for_update().get(pk=project.pk)
    return project


def project_update(*, project, actor, request=None, **changes):
    """Change the fields given (any of EDITABLE); an archived project refuses every change."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError({field: "This field cannot be changed." for field in sorted(unknown)})
    with transaction.atomic():
        project = _lock_for_change(project, actor)
        if project.is_archived:
            raise ValidationError({"archived": "This project is archived and read-only; restore it first."})
        if "name" in changes:
            if not (changes["name"] or "").strip():
                raise ValidationError({"name": "Give the project a name."})
            project.name = changes["name"].strip()[:100]
        for field in ("repository_url", "board_url"):
            if field in changes:
                setattr(project, field, _check_url(changes[field], field))
        if "description" in changes:
            project.description = changes["description"] or ""
        if "whole_team" in changes:
            project.whole_team = bool(changes["whole_team"])
        project.save()
        if "owners" in changes:
            owners = _team_users(project.team, changes["owners"], "owners")
            if not owners:
                raise ValidationError({"owners": "A project needs at least one owner."})
            project.owners.set(owners)
        if "members" in changes:
            project.members.set(_team_users(project.team, changes["members"], "members"))
        audit_record(action="project.update", actor=actor, request=request, target=project,
                     data={"fields": sorted(changes)})
    return project


def project_set_stage(*, project, actor, stage, request=None):
    """Move the project to ``stage`` (forward or back) and add it to the timeline; the same stage is a no-op."""
    _check_stage(stage)
    with transaction.atomic():
        if not project_can_manage(user=actor, project=project):
            raise ValidationError({"stage": "Only the project's owners and the team's admins change its stage."})
        project = Project.objects.select_for_update().get(pk=project.pk)
        if project.is_archived:
            raise ValidationError({"stage": "This project is archived and read-only; restore it first."})
        if project.stage == stage:
            return project
        previous, project.stage = project.stage, stage
        project.save(update_fields=["stage"])
        ProjectStageChange.objects.create(project=project, stage=stage, actor_username=actor.get_username())
        audit_record(action="project.stage", actor=actor, request=request, target=project,
                     data={"from": previous, "to": stage})
    return project


def project_set_archived(*, project, actor, archived, request=None):
    """Archive (read-only: no changes, no launches in it) or restore a project. Idempotent."""
    with transaction.atomic():
        project = _lock_for_change(project, actor)
        if project.is_archived == archived:
            return project
        project.archived = timezone.now() if archived else None
        project.save(update_fields=["archived"])
        audit_record(action="project.archive" if archived else "project.restore", actor=actor, request=request,
                     target=project)
    return project


def project_for_launch(*, user, team, project):
    """Check that a workspace may launch in ``project``: of the workspace's team, live, and the user a member.
    Returns the project (None stays None)."""
    from projects.selectors import project_is_member

    if project is None:
        return None
    if team is not None and project.team_id != team.pk:
        raise ValidationError({"project": f"Project {project.slug!r} belongs to another team than the workspace."})
    if project.is_archived:
        raise ValidationError({"project": f"Project {project.slug!r} is archived: no new workspaces run in it."})
    if not project_is_member(user=user, project=project):
        raise ValidationError({"project": f"You are not a member of project {project.slug!r}."})
    return project
