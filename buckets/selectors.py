"""Reads scoped to what the caller may see: one's own bucket and one's teams' (platform admins: all)."""

from django.db.models import Q
from django.shortcuts import get_object_or_404

from buckets.models import Bucket, StorageIdentity


def bucket_access_q(user):
    """The buckets a person's key opens: their own, their teams' (project buckets excepted), and the buckets
    of the projects they work in (in the project's team, and an owner, a listed member, or any member for a
    whole-team project)."""
    Kind = Bucket.Kind
    in_team = Q(team__memberships__user=user)  # a project's bucket's team is the project's
    # Listed people who left the team are no longer in the project.
    project_member = in_team & (Q(project__owners=user) | Q(project__members=user) | Q(project__whole_team=True))
    return (Q(owner=user, kind=Kind.PERSONAL) | (in_team & Q(kind=Kind.TEAM)) | (Q(kind=Kind.PROJECT) & project_member))


def bucket_list_for(*, user):
    buckets = Bucket.objects.select_related("owner", "team", "project")
    if not user.is_platform_admin:
        buckets = buckets.filter(pk__in=Bucket.objects.filter(bucket_access_q(user)).values("pk"))
    return buckets.order_by("kind", "name")


def bucket_for_project(*, project):
    return Bucket.objects.filter(project=project, kind=Bucket.Kind.PROJECT).first()


def bucket_get_for(*, user, pk):
    """The bucket if the caller may see it; 404 otherwise (another person's bucket looks like none)."""
    return get_object_or_404(bucket_list_for(user=user), pk=pk)


def identity_for(*, user):
    return StorageIdentity.objects.filter(user=user).prefetch_related("keys").first()
