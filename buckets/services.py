"""Buckets and people's S3 identities: the rules, and the reconcilers that make the object store match.

The database says what should exist (a personal bucket per active person, a bucket per team, an
identity per person whose policy opens exactly their own bucket and their teams'); the reconcilers
(`bucket_provision`, `identity_sync`), run by Celery, make one idempotent pass each. No object-store
call happens inside a database transaction, and none happens while a person logs in or launches:
those read what the database holds.

Secrets never leave the app in clear except to a workspace's launch spec (buckets/launch.py) and to
their owner once (`credentials_reveal`).
"""

import hashlib
import json
import logging
import re
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from buckets.crypto import secret_decrypt, secret_encrypt
from buckets.models import Bucket, BucketSample, State, StorageIdentity, StorageKey
from buckets.storage import StorageError, StorageUnavailable, policy_document, storage
from portal.audit.services import audit_record

logger = logging.getLogger(__name__)

MAX_QUOTA_BYTES = 2**63 - 1
LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?")
LOCK_SECONDS = 120


class Busy(Exception):
    """Another pass for the same thing holds its lock; try again in a moment."""


# --- Names --------------------------------------------------------------------

def _name_part(text):
    part = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return part, part == text.lower()


def _unique_name(base, *, suffix, exact, taken_ok=False):
    """`base` when it is exact, fits and is free (or `taken_ok`: the caller refuses a taken name itself);
    otherwise `base-<suffix>` (our id, so it is unique)."""
    if exact and len(base) <= 63 and (taken_ok or not Bucket.objects.filter(name=base).exists()):
        return base
    tail = f"-{suffix}"
    return base[: 63 - len(tail)].rstrip("-") + tail


def bucket_name_for_user(user):
    part, exact = _name_part(user.get_username())
    return _unique_name(f"{settings.PLATFORM_BUCKETS_PREFIX}-u-{part}".rstrip("-"), suffix=user.pk, exact=exact and bool(part))


def bucket_name_for_team(team, label=""):
    part, exact = _name_part(team.slug)
    base = f"{settings.PLATFORM_BUCKETS_PREFIX}-t-{part}" + (f"-{label}" if label else "")
    return _unique_name(base.rstrip("-"), suffix=f"{team.pk}{'-' + label if label else ''}", exact=exact and bool(part),
                        taken_ok=bool(label))


def bucket_name_for_project(project):
    part, exact = _name_part(f"{project.team.slug}-{project.slug}")
    return _unique_name(f"{settings.PLATFORM_BUCKETS_PREFIX}-p-{part}".rstrip("-"), suffix=f"p{project.pk}",
                        exact=exact and bool(part))


def iam_name_for(user):
    return f"{settings.PLATFORM_BUCKETS_PREFIX}-user-{user.pk}"


# --- Buckets (database) -------------------------------------------------------

def _create_bucket(**fields):
    try:
        with transaction.atomic():
            return Bucket.objects.create(**fields)
    except IntegrityError:
        return None


def bucket_ensure_personal(*, user):
    """The person's own bucket row (made on first call). Idempotent; no object-store call."""
    bucket = Bucket.objects.filter(owner=user, kind=Bucket.Kind.PERSONAL).first()
    if bucket is None:
        bucket = _create_bucket(name=bucket_name_for_user(user), kind=Bucket.Kind.PERSONAL, owner=user)
        bucket = bucket or Bucket.objects.get(owner=user, kind=Bucket.Kind.PERSONAL)
    return bucket


def bucket_ensure_team(*, team):
    """The team's main bucket row (made with the team). Idempotent; no object-store call."""
    bucket = Bucket.objects.filter(team=team, primary=True).first()
    if bucket is None:
        bucket = _create_bucket(name=bucket_name_for_team(team), kind=Bucket.Kind.TEAM, team=team, primary=True)
        bucket = bucket or Bucket.objects.get(team=team, primary=True)
    return bucket


def bucket_ensure_project(*, project):
    """The project's bucket row (made with the project; its team pays). Idempotent; no object-store call."""
    bucket = Bucket.objects.filter(project=project, kind=Bucket.Kind.PROJECT).first()
    if bucket is None:
        bucket = _create_bucket(name=bucket_name_for_project(project), kind=Bucket.Kind.PROJECT, team=project.team,
                                project=project)
        bucket = bucket or Bucket.objects.get(project=project, kind=Bucket.Kind.PROJECT)
    return bucket


def quota_clean(value, *, field="quota_bytes"):
    """Bytes (an integer ≥ 1 MiB), or None for no quota; a 400 naming `field` for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({field: "Give the quota in bytes (an integer, e.g. 10737418240), or null for none."})
    if value < 2**20:
        raise ValidationError({field: "A quota is at least 1 MiB (1048576 bytes)."})
    if value > MAX_QUOTA_BYTES:
        raise ValidationError({field: "That quota is beyond what can be stored."})
    return value


def bucket_create_for_team(*, team, label, quota_bytes=None, actor, request=None):
    """An extra bucket of a team (platform admins), named `<prefix>-t-<team>-<label>`; provisioned by
    Celery after commit."""
    label = str(label or "").strip()
    if not LABEL.fullmatch(label):
        raise ValidationError({"name": "Use 1-20 characters of a-z, 0-9 and -, starting and ending with a letter or digit."})
    quota_bytes = quota_clean(quota_bytes)
    name = bucket_name_for_team(team, label)
    if Bucket.objects.filter(name=name).exists():
        raise ValidationError({"name": f"The bucket {name} exists already."})
    try:
        with transaction.atomic():
            bucket = Bucket.objects.create(name=name, kind=Bucket.Kind.TEAM, team=team, quota_bytes=quota_bytes)
            audit_record(action="bucket.created", actor=actor, request=request, target=bucket,
                         data={"team": team.slug, "quota_bytes": quota_bytes})
    except IntegrityError:
        raise ValidationError({"name": f"The bucket {name} exists already."}) from None
    _queue_provision(bucket)
    _queue_members_sync(team_id=team.pk)
    return bucket


def bucket_set_quota(*, bucket, quota_bytes, actor, request=None):
    """Set or clear (None) a bucket's quota. It takes effect at the bucket's next sample, queued now."""
    quota_bytes = quota_clean(quota_bytes)
    with transaction.atomic():
        previous = bucket.quota_bytes
        bucket.quota_bytes = quota_bytes
        bucket.save(update_fields=["quota_bytes", "updated"])
        audit_record(action="bucket.quota_set", actor=actor, request=request, target=bucket,
                     data={"from": previous, "to": quota_bytes})
    from buckets.tasks import bucket_sample_task

    bucket_sample_task.delay_on_commit(bucket.pk)
    return bucket


def _queue_provision(bucket):
    from buckets.tasks import bucket_provision_task

    bucket_provision_task.delay_on_commit(bucket.pk)


def _queue_members_sync(*, team_id):
    from buckets.tasks import identity_sync_task
    from portal.accounts.models import Membership

    for user_id in Membership.objects.filter(team_id=team_id).values_list("user_id", flat=True):
        identity_sync_task.delay_on_commit(user_id)


# --- Buckets (object store) ---------------------------------------------------

def _set_state(model, pk, state, reason=""):
    model.objects.filter(pk=pk).update(state=state, state_reason=reason[:300])


def bucket_provision(*, bucket_id):
    """Make the bucket exist in the object store. Idempotent: an existing bucket is a success.
    Raises StorageUnavailable (the task retries) after recording why."""
    bucket = Bucket.objects.filter(pk=bucket_id).first()
    backend = storage()
    if bucket is None or backend is None or bucket.state in (State.READY, State.ORPHANED):
        return bucket
    try:
        backend.bucket_ensure(bucket.name)
    except StorageError as exc:
        _set_state(Bucket, bucket.pk, State.FAILED, str(exc))
        raise
    _set_state(Bucket, bucket.pk, State.READY)
    bucket.state = State.READY
    return bucket


# --- Identities ---------------------------------------------------------------

def _allowed_buckets(user):
    """(read-write names, read-only names): the person's own bucket, every bucket of their teams, and the
    buckets of the projects they work in; buckets over their quota are read-only."""
    from buckets.selectors import bucket_access_q

    if not user.is_active:
        return [], []
    buckets = Bucket.objects.filter(bucket_access_q(user)).exclude(
        state=State.ORPHANED).distinct().values_list("name", "over_quota")
    read_write = sorted(name for name, over in buckets if not over)
    read_only = sorted(name for name, over in buckets if over)
    return read_write, read_only


def _digest(document):
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def current_key(identity):
    return identity.keys.filter(deleted__isnull=True, retire_after__isnull=True).first()


def _rotation_due(identity, key, now):
    if key is None or identity.rotate_requested is not None:
        return True
    days = settings.PLATFORM_BUCKETS_ROTATE_DAYS
    return bool(days) and key.created <= now - timedelta(days=days)


def identity_sync(*, user_id):
    """One pass for a person: their bucket, their identity, a current key (a new one when a rotation is
    due), the policy that opens exactly their buckets, and the deletion of keys whose grace is over.
    A deactivated person keeps no key and no policy.

    Idempotent, and free when nothing changed (no object-store call). Raises Busy when another pass for
    the same person runs, StorageError after recording why on the identity."""
    backend = storage()
    user = get_user_model().objects.filter(pk=user_id).first()
    if backend is None or user is None:
        return None
    lock = f"buckets:identity:{user_id}"
    if not cache.add(lock, "1", LOCK_SECONDS):
        raise Busy(lock)
    try:
        return _identity_sync(backend, user)
    finally:
        cache.delete(lock)


def _identity_sync(backend, user):
    now = timezone.now()
    identity = StorageIdentity.objects.filter(user=user).first()
    if identity is None:
        if not user.is_active:
            return None
        identity, _ = StorageIdentity.objects.get_or_create(user=user, defaults={"iam_name": iam_name_for(user)})
    personal = bucket_ensure_personal(user=user) if user.is_active else None
    read_write, read_only = _allowed_buckets(user)
    document = policy_document(read_write=read_write, read_only=read_only)
    digest = _digest(document)
    current = current_key(identity)
    expired = list(identity.keys.filter(deleted__isnull=True, retire_after__lte=now))
    rotate = user.is_active and _rotation_due(identity, current, now)
    if (identity.state == State.READY and digest == identity.policy_digest and not rotate and not expired
            and (personal is None or personal.state == State.READY)):
        return identity
    try:
        if personal is not None and personal.state != State.READY:
            bucket_provision(bucket_id=personal.pk)
        if not user.is_active:
            # Deactivated: every key goes now, not after a grace.
            expired = list(identity.keys.filter(deleted__isnull=True))
        created = False
        if rotate:
            created = backend.identity_ensure(identity.iam_name)
            if not created:
                _forget_stray_keys(backend, identity)
            _key_create(backend, identity, previous=current, now=now)
        for key in expired:
            backend.key_delete(identity.iam_name, key.access_key_id)
            StorageKey.objects.filter(pk=key.pk).update(deleted=timezone.now())
        if digest != identity.policy_digest:
            backend.policy_put(identity.iam_name, document)
    except StorageError as exc:
        _set_state(StorageIdentity, identity.pk, State.FAILED, str(exc))
        raise
    StorageIdentity.objects.filter(pk=identity.pk).update(
        state=State.READY, state_reason="", policy_digest=digest, policy_buckets=read_write + read_only, synced_at=now)
    identity.refresh_from_db()
    return identity


def _forget_stray_keys(backend, identity):
    """Keys the store has but we never recorded (a pass that died between creating a key and saving it)."""
    known = set(identity.keys.filter(deleted__isnull=True).values_list("access_key_id", flat=True))
    for key_id in backend.key_list(identity.iam_name):
        if key_id not in known:
            backend.key_delete(identity.iam_name, key_id)


def _key_create(backend, identity, *, previous, now):
    key = backend.key_create(identity.iam_name)
    with transaction.atomic():
        StorageKey.objects.create(identity=identity, access_key_id=key.access_key_id,
                                  secret_encrypted=secret_encrypt(key.secret))
        if previous is not None:
            grace = timedelta(minutes=settings.PLATFORM_BUCKETS_KEY_GRACE_MINUTES)
            StorageKey.objects.filter(pk=previous.pk).update(retire_after=now + grace)
        StorageIdentity.objects.filter(pk=identity.pk).update(rotate_requested=None)


def identity_remove(*, identity_id):
    """Delete an identity whose person was deleted: its keys and policy leave the store. Idempotent."""
    identity = StorageIdentity.objects.filter(pk=identity_id, user__isnull=True).first()
    backend = storage()
    if identity is None or backend is None:
        return
    backend.identity_delete(identity.iam_name)
    identity.keys.filter(deleted__isnull=True).update(deleted=timezone.now())
    identity.delete()


def credentials_request_rotation(*, user, actor, request=None):
    """Ask for a new key (the old one keeps working for PLATFORM_BUCKETS_KEY_GRACE_MINUTES). Celery makes
    it; the owner then reveals the new secret once."""
    from buckets.tasks import identity_sync_task

    with transaction.atomic():
        identity = StorageIdentity.objects.select_for_update().filter(user=user).first()
        if identity is None:
            raise ValidationError({"detail": "Your storage credentials are not made yet; try again in a minute."})
        identity.rotate_requested = timezone.now()
        identity.save(update_fields=["rotate_requested"])
        audit_record(action="storage.key_rotation_requested", actor=actor, request=request, target=identity,
                     data={"user": user.get_username()})
    identity_sync_task.delay_on_commit(user.pk)
    return identity


def credentials_reveal(*, user, request=None):
    """(access key id, secret) of the person's current key, once per key; later calls are refused
    (rotate for a new one). The audit log records that it was shown, never the secret."""
    with transaction.atomic():
        identity = StorageIdentity.objects.filter(user=user).first()
        key = current_key(identity) if identity is not None else None
        if key is None:
            raise ValidationError({"detail": "Your storage credentials are not made yet; try again in a minute."})
        shown = StorageKey.objects.filter(pk=key.pk, revealed__isnull=True).update(revealed=timezone.now())
        if not shown:
            raise ValidationError({"detail": "This key's secret was shown once already: rotate your key for a new one."})
        audit_record(action="storage.key_revealed", actor=user, request=request, target=identity,
                     data={"access_key_id": key.access_key_id})
    return key.access_key_id, secret_decrypt(key.secret_encrypted)


def keys_reencrypt():
    """Re-encrypt every stored secret under the first PLATFORM_BUCKETS_ENCRYPTION_KEYS key. Idempotent."""
    from buckets.crypto import secret_reencrypt

    count = 0
    for key in StorageKey.objects.filter(deleted__isnull=True).iterator():
        StorageKey.objects.filter(pk=key.pk).update(secret_encrypted=secret_reencrypt(key.secret_encrypted))
        count += 1
    return count


# --- Sizes, quotas, samples ---------------------------------------------------

def _payer(bucket):
    """(user id, username, team id, team slug) billed for the bucket now: a team bucket's team, a personal
    bucket's owner in their first team (by name)."""
    if bucket.kind in (Bucket.Kind.TEAM, Bucket.Kind.PROJECT):
        team = bucket.team
        return None, "", (team.pk if team else None), (team.slug if team else "")
    owner = bucket.owner
    if owner is None:
        return None, "", None, ""
    from portal.accounts.models import Membership

    membership = Membership.objects.filter(user=owner).select_related("team").order_by("team__name").first()
    team = membership.team if membership else None
    return owner.pk, owner.get_username(), (team.pk if team else None), (team.slug if team else "")


def bucket_sample(*, bucket_id):
    """Measure a bucket (size, objects), record a sample when the size or payer changed, and enforce its
    quota: a bucket at or over it becomes read-only for everyone (their policies are queued for an update)
    until it is under again. Idempotent."""
    bucket = Bucket.objects.filter(pk=bucket_id).select_related("team", "owner").first()
    backend = storage()
    if bucket is None or backend is None or bucket.state not in (State.READY, State.ORPHANED):
        return None
    usage = backend.bucket_usage(bucket.name)
    now = timezone.now()
    user_id, username, team_id, team_slug = _payer(bucket)
    over = bucket.quota_bytes is not None and usage.size_bytes >= bucket.quota_bytes
    last = bucket.samples.order_by("-sampled_at", "-id").first()
    with transaction.atomic():
        if last is None or (last.size_bytes, last.user_id, last.team_id) != (usage.size_bytes, user_id, team_id):
            BucketSample.objects.create(bucket=bucket, bucket_name=bucket.name, sampled_at=now, size_bytes=usage.size_bytes,
                                        object_count=usage.objects, user_id=user_id, username=username,
                                        team_id=team_id, team_slug=team_slug)
        Bucket.objects.filter(pk=bucket.pk).update(size_bytes=usage.size_bytes, object_count=usage.objects,
                                                   sampled_at=now, over_quota=over)
        if over != bucket.over_quota:
            _queue_bucket_users_sync(bucket)
    return usage


def _queue_bucket_users_sync(bucket):
    from buckets.tasks import identity_sync_task
    from portal.accounts.models import Membership

    if bucket.kind == Bucket.Kind.PERSONAL:
        users = [bucket.owner_id] if bucket.owner_id else []
    else:
        users = list(Membership.objects.filter(team_id=bucket.team_id).values_list("user_id", flat=True))
    for user_id in users:
        identity_sync_task.delay_on_commit(user_id)


# --- The janitor --------------------------------------------------------------

def buckets_janitor():
    """Find what is not as it should be and queue the pass that fixes it: buckets not ready, teams and
    active people without theirs, identities failed, keys due for rotation or deletion, identities of
    deleted people; mark buckets whose person or team is gone as orphaned. Idempotent; returns counts."""
    from buckets.tasks import bucket_provision_task, identity_remove_task, identity_sync_task
    from portal.accounts.models import Team

    if storage() is None:
        return {}
    now = timezone.now()
    orphaned = Bucket.objects.filter(Q(kind=Bucket.Kind.PERSONAL, owner__isnull=True) | Q(kind=Bucket.Kind.TEAM, team__isnull=True)
                                     | Q(kind=Bucket.Kind.PROJECT, project__isnull=True)).exclude(state=State.ORPHANED).update(state=State.ORPHANED, state_reason="")
    for team in Team.objects.filter(buckets__isnull=True):
        bucket_ensure_team(team=team)
    buckets = list(Bucket.objects.filter(state__in=[State.PROVISIONING, State.FAILED]).values_list("pk", flat=True))
    for pk in buckets:
        bucket_provision_task.delay(pk)
    users = set(get_user_model().objects.filter(is_active=True, storage_identity__isnull=True).values_list("pk", flat=True))
    users |= set(StorageIdentity.objects.filter(user__isnull=False).exclude(state=State.READY).values_list("user_id", flat=True))
    users |= set(StorageKey.objects.filter(deleted__isnull=True, retire_after__lte=now, identity__user__isnull=False)
                 .values_list("identity__user_id", flat=True))
    users |= set(StorageKey.objects.filter(deleted__isnull=True, identity__user__is_active=False)
                 .values_list("identity__user_id", flat=True))
    if settings.PLATFORM_BUCKETS_ROTATE_DAYS:
        due = now - timedelta(days=settings.PLATFORM_BUCKETS_ROTATE_DAYS)
        users |= set(StorageKey.objects.filter(deleted__isnull=True, retire_after__isnull=True, created__lte=due,
                                               identity__user__is_active=True).values_list("identity__user_id", flat=True))
    for user_id in sorted(users):
        identity_sync_task.delay(user_id)
    removed = list(StorageIdentity.objects.filter(user__isnull=True).values_list("pk", flat=True))
    for pk in removed:
        identity_remove_task.delay(pk)
    return {"orphaned": orphaned, "buckets": len(buckets), "identities": len(users), "removed": len(removed)}


def buckets_sample_all():
    """Queue a sample of every bucket that exists in the store."""
    from buckets.tasks import bucket_sample_task

    if storage() is None:
        return 0
    ids = list(Bucket.objects.filter(state__in=[State.READY, State.ORPHANED]).values_list("pk", flat=True))
    for pk in ids:
        bucket_sample_task.delay(pk)
    return len(ids)


def storage_unavailable_reason(error):
    """What people see when the store is down (no stack trace, no endpoint credentials)."""
    if isinstance(error, StorageUnavailable):
        return "The object store is unreachable; retrying."
    return str(error)


# --- Browsing and links (presigned: the browser talks to the store, the portal never carries bytes) ----

def _usable(bucket, user):
    """Only people whose own key opens the bucket browse it or get links, platform admins included: the
    portal signs with its admin key, so it must not open more than the person's key would."""
    if bucket.state != State.READY:
        raise ValidationError({"detail": f"The bucket {bucket.name} is not ready ({bucket.get_state_display().lower()})."})
    from buckets.selectors import bucket_access_q

    if not user.is_active or not Bucket.objects.filter(bucket_access_q(user), pk=bucket.pk).exists():
        raise ValidationError({"detail": "Only the bucket's owner, its team's members (a project's: the project's "
                                         "members) open its data."})


def key_clean(key, *, field="key"):
    key = str(key or "")
    if not key or key.startswith("/") or len(key.encode()) > 1024 or any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise ValidationError({field: "Give an object key: 1-1024 bytes, not starting with /, no control characters."})
    return key


def prefix_clean(prefix):
    prefix = str(prefix or "")
    if prefix and (prefix.startswith("/") or not prefix.endswith("/")):
        raise ValidationError({"prefix": "A prefix ends with / and does not start with one (e.g. data/2026/)."})
    if len(prefix.encode()) > 1024 or any(ord(c) < 32 or ord(c) == 127 for c in prefix):
        raise ValidationError({"prefix": "At most 1024 bytes, no control characters."})
    return prefix


def bucket_browse(*, bucket, user, prefix="", token=""):
    _usable(bucket, user)
    prefix = prefix_clean(prefix)
    if len(str(token or "")) > 2048:
        raise ValidationError({"token": "Not a continuation token from this listing."})
    return prefix, storage().object_list(bucket.name, prefix=prefix, token=str(token or ""))


def object_download_link(*, bucket, user, key):
    _usable(bucket, user)
    return storage().presign_get(bucket.name, key_clean(key), expires=settings.PLATFORM_BUCKETS_LINK_SECONDS)


def object_upload_link(*, bucket, user, key):
    _usable(bucket, user)
    if bucket.over_quota:
        raise ValidationError({"detail": f"{bucket.name} is over its quota: it is read-only until data is removed "
                                         "or the quota raised."})
    return storage().presign_put(bucket.name, key_clean(key), expires=settings.PLATFORM_BUCKETS_LINK_SECONDS)


def upload_form(*, bucket, user, prefix, redirect):
    """A browser form that uploads one file straight to the store under `prefix`, then comes back to
    `redirect` (a plain form POST: no script, nothing to allow in the page's CSP)."""
    _usable(bucket, user)
    if bucket.over_quota:
        raise ValidationError({"detail": f"{bucket.name} is over its quota: it is read-only."})
    return storage().presign_post(bucket.name, prefix=prefix_clean(prefix), expires=settings.PLATFORM_BUCKETS_LINK_SECONDS,
                                  max_bytes=settings.PLATFORM_BUCKETS_UPLOAD_MAX_BYTES, redirect=redirect)
