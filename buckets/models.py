from django.conf import settings
from django.db import models


class State(models.TextChoices):
    PROVISIONING = "provisioning", "Provisioning"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    # A bucket whose person or team was deleted: its data is kept until a platform admin decides.
    ORPHANED = "orphaned", "Orphaned"


class Bucket(models.Model):
    """An S3 bucket the platform made: one per person, one per team, and more team buckets admins add.

    The S3 name is derived once, when the row is made, and never changes (renames do not move data)."""

    class Kind(models.TextChoices):
        PERSONAL = "personal", "Personal"
        TEAM = "team", "Team"
        PROJECT = "project", "Project"  # a project's data: only its members' keys open it

    name = models.CharField(max_length=63, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="buckets")
    team = models.ForeignKey("accounts.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="buckets")
    # A project's bucket: its team pays; only the project's members' keys open it (not the whole team's).
    project = models.ForeignKey("projects.Project", on_delete=models.SET_NULL, null=True, blank=True, related_name="buckets")
    # The team's main bucket (made with the team); admins' extra ones are not.
    primary = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PROVISIONING)
    state_reason = models.CharField(max_length=300, blank=True)
    quota_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    over_quota = models.BooleanField(default=False)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    object_count = models.PositiveBigIntegerField(null=True, blank=True)
    sampled_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["owner"], condition=models.Q(kind="personal"), name="bucket_one_personal_per_owner"),
            models.UniqueConstraint(fields=["team"], condition=models.Q(primary=True), name="bucket_one_primary_per_team"),
            models.UniqueConstraint(fields=["project"], condition=models.Q(kind="project"), name="bucket_one_per_project"),
        ]

    def __str__(self):
        return self.name


class StorageIdentity(models.Model):
    """A person's S3 identity (an IAM user named after our id). Kept when the person is deleted, until
    its keys are gone from the store."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="storage_identity")
    iam_name = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PROVISIONING)
    state_reason = models.CharField(max_length=300, blank=True)
    # The policy last applied (a digest of its document), so an unchanged policy costs no call.
    policy_digest = models.CharField(max_length=64, blank=True)
    policy_buckets = models.JSONField(default=list, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    rotate_requested = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.iam_name


class StorageKey(models.Model):
    """One access key of an identity. The secret is encrypted at rest (buckets/crypto.py); it is never
    logged, audited or serialised except to its owner once, on request."""

    identity = models.ForeignKey(StorageIdentity, on_delete=models.CASCADE, related_name="keys")
    access_key_id = models.CharField(max_length=128, unique=True)
    secret_encrypted = models.TextField()
    created = models.DateTimeField(auto_now_add=True)
    # Set when a newer key replaced it: workspaces started before keep working until then.
    retire_after = models.DateTimeField(null=True, blank=True)
    deleted = models.DateTimeField(null=True, blank=True, help_text="When it was deleted from the object store.")
    revealed = models.DateTimeField(null=True, blank=True, help_text="When its owner was shown the secret.")

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return self.access_key_id


class BucketSample(models.Model):
    """A bucket's size at one moment, with who pays for it then. Storage is metered from these
    (costs/metering.py): each sample prices the time until the next one. A new sample is written only
    when the size or the payer changed."""

    bucket = models.ForeignKey(Bucket, on_delete=models.PROTECT, related_name="samples")
    bucket_name = models.CharField(max_length=63)
    sampled_at = models.DateTimeField()
    size_bytes = models.PositiveBigIntegerField()
    object_count = models.PositiveBigIntegerField()
    user_id = models.BigIntegerField(null=True)
    username = models.CharField(max_length=150, blank=True)
    team_id = models.BigIntegerField(null=True)
    team_slug = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["sampled_at", "id"]
        indexes = [models.Index(fields=["bucket", "sampled_at"], name="buckets_sample_bucket_time")]
