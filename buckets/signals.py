"""Queue a sync when people, teams or memberships change, wherever the change came from (services,
the Django admin, a shell). Receivers only queue work after commit: the rules live in services.

accounts knows nothing of buckets (buckets builds on accounts); these receivers are how the
dependency points the right way. The janitor (every 30 s) catches anything a lost message missed.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from portal.accounts.models import Membership, Team


def _enabled():
    return bool(settings.PLATFORM_S3_ENDPOINT_URL) or settings.PLATFORM_S3_BACKEND == "fake"


def _sync_user(user_id):
    from buckets.tasks import identity_sync_task

    if _enabled():
        identity_sync_task.delay_on_commit(user_id)


@receiver(post_save, sender=get_user_model())
def _user_saved(sender, instance, created, update_fields=None, **kwargs):
    # Logins save last_login only: user_logged_in below handles those.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    _sync_user(instance.pk)


@receiver(user_logged_in)
def _user_logged_in(sender, request, user, **kwargs):
    _sync_user(user.pk)


@receiver(post_delete, sender=get_user_model())
def _user_deleted(sender, instance, **kwargs):
    from buckets.models import Bucket, State
    from buckets.tasks import identity_remove_task
    from buckets.models import StorageIdentity

    if not _enabled():
        return
    Bucket.objects.filter(kind=Bucket.Kind.PERSONAL, owner__isnull=True).exclude(state=State.ORPHANED).update(
        state=State.ORPHANED)
    for pk in StorageIdentity.objects.filter(user__isnull=True).values_list("pk", flat=True):
        identity_remove_task.delay_on_commit(pk)


@receiver(post_save, sender=Team)
def _team_saved(sender, instance, created, **kwargs):
    from buckets.services import bucket_ensure_team
    from buckets.tasks import bucket_provision_task

    if created and _enabled():
        bucket = bucket_ensure_team(team=instance)
        bucket_provision_task.delay_on_commit(bucket.pk)


@receiver(post_delete, sender=Team)
def _team_deleted(sender, instance, **kwargs):
    from buckets.models import Bucket, State

    Bucket.objects.filter(kind=Bucket.Kind.TEAM, team__isnull=True).exclude(state=State.ORPHANED).update(
        state=State.ORPHANED)


@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
def _membership_changed(sender, instance, **kwargs):
    _sync_user(instance.user_id)
