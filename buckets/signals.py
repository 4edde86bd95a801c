"""Queue a sync when people, teams or memberships change, wherever the change came from (services,
the Django admin, a shell). Receivers only queue work after commit: the rules live in services.

accounts knows nothing of buckets (buckets builds on accounts); these receivers are how the
dependency points the right way. The janitor (every 30 s) catches anything a lost message missed.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from portal.accounts.models import Membership, Team
from projects.models import Project

logger = logging.getLogger(__name__)


def _enabled():
    return bool(settings.PLATFORM_S3_ENDPOINT_URL) or settings.PLATFORM_S3_BACKEND == "fake"


def _queue(task, *args):
    """After commit; robust: a broker that is not there yet (`manage.py ensure_admin` before the platform
    runs) or down must never fail the change itself. The janitor queues whatever was lost."""
    def send():
        try:
            task.delay(*args)
        except Exception as exc:  # noqa: BLE001  (any broker failure; the janitor makes up for it)
            logger.info("Could not queue %s%s now (%s); the buckets janitor will.", task.name, args, exc.__class__.__name__)

    if _enabled():
        transaction.on_commit(send)


def _sync_user(user_id):
    from buckets.tasks import QUEUED, identity_sync_task

    # One queued pass per person at a time: making a person and their membership in one transaction
    # queues one pass, not two (the task forgets the mark when it starts, so a later change queues again).
    def send():
        if cache.add(QUEUED.format(user_id), "1", 300):
            try:
                identity_sync_task.delay(user_id)
            except Exception as exc:  # noqa: BLE001  (any broker failure; the janitor makes up for it)
                cache.delete(QUEUED.format(user_id))
                logger.info("Could not queue a storage sync of user %s now (%s); the buckets janitor will.", user_id,
                            exc.__class__.__name__)

    if _enabled():
        transaction.on_commit(send)


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
    from buckets.models import Bucket, State, StorageIdentity
    from buckets.tasks import identity_remove_task

    if not _enabled():
        return
    Bucket.objects.filter(kind=Bucket.Kind.PERSONAL, owner__isnull=True).exclude(state=State.ORPHANED).update(
        state=State.ORPHANED)
    for pk in StorageIdentity.objects.filter(user__isnull=True).values_list("pk", flat=True):
        _queue(identity_remove_task, pk)


@receiver(post_save, sender=Team)
def _team_saved(sender, instance, created, **kwargs):
    from buckets.services import bucket_ensure_team
    from buckets.tasks import bucket_provision_task

    if created and _enabled():
        bucket = bucket_ensure_team(team=instance)
        _queue(bucket_provision_task, bucket.pk)


@receiver(post_delete, sender=Team)
def _team_deleted(sender, instance, **kwargs):
    from buckets.models import Bucket, State

    Bucket.objects.filter(kind=Bucket.Kind.TEAM, team__isnull=True).exclude(state=State.ORPHANED).update(
        state=State.ORPHANED)


@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
def _membership_changed(sender, instance, **kwargs):
    _sync_user(instance.user_id)


def _sync_team(team_id):
    for user_id in Membership.objects.filter(team_id=team_id).values_list("user_id", flat=True):
        _sync_user(user_id)


@receiver(post_save, sender=Project)
def _project_saved(sender, instance, created, **kwargs):
    """A new project gets its bucket; any change (whole team or not) may open or close it for people of the team."""
    from buckets.services import bucket_ensure_project
    from buckets.tasks import bucket_provision_task

    if not _enabled():
        return
    if created:
        _queue(bucket_provision_task, bucket_ensure_project(project=instance).pk)
    _sync_team(instance.team_id)


@receiver(m2m_changed, sender=Project.owners.through)
@receiver(m2m_changed, sender=Project.members.through)
def _project_people_changed(sender, instance, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear") and isinstance(instance, Project):
        _sync_team(instance.team_id)
