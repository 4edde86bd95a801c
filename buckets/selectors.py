"""Reads scoped to what the caller may see: one's own bucket and one's teams' (platform admins: all)."""

from django.db.models import Q
from django.shortcuts import get_object_or_404

from buckets.models import Bucket, StorageIdentity


def bucket_list_for(*, user):
    buckets = Bucket.objects.select_related("owner", "team")
    if not user.is_platform_admin:
        buckets = buckets.filter(Q(owner=user, kind=Bucket.Kind.PERSONAL) | Q(team__memberships__user=user)).distinct()
    return buckets.order_by("kind", "name")


def bucket_get_for(*, user, pk):
    """The bucket if the caller may see it; 404 otherwise (another person's bucket looks like none)."""
    return get_object_or_404(bucket_list_for(user=user), pk=pk)


def identity_for(*, user):
    return StorageIdentity.objects.filter(user=user).prefetch_related("keys").first()
