"""The image catalog: repositories, the digests in them, the tags (catalog entries) that point at
digests, what is inside a digest (SBOM packages), what is wrong with it (scan findings), the scan
policy and its exceptions, and the robot accounts CI pushes with."""

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone

SEVERITIES = ["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"]


def severity_rank(severity):
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


class Repository(models.Model):
    """A registry repository (``platform/python``) or the ``local/…`` pseudo-repository of a host environment."""

    class Namespace(models.TextChoices):
        PLATFORM = "platform"
        TEAM = "team"
        USER = "user"
        LOCAL = "local", "local environment"
        OTHER = "other"

    name = models.CharField(max_length=255, unique=True)
    namespace = models.CharField(max_length=16, choices=Namespace.choices)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="image_repositories")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="image_repositories")
    present = models.BooleanField(default=True, help_text="Seen in the registry's catalog at the last sync.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "repositories"

    def __str__(self):
        return self.name


class Manifest(models.Model):
    """One image by content: a digest in a repository, with the metadata from its OCI labels."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="manifests")
    digest = models.CharField(max_length=80)
    media_type = models.CharField(max_length=120, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    source = models.CharField(max_length=500, blank=True)
    revision = models.CharField(max_length=100, blank=True)
    image_created = models.CharField(max_length=40, blank=True, help_text="org.opencontainers.image.created")
    labels = models.JSONField(default=dict, blank=True)
    python_version = models.CharField(max_length=40, blank=True, help_text="From the SBOM.")
    first_seen = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-first_seen"]
        constraints = [models.UniqueConstraint(fields=["repository", "digest"], name="manifest_unique_digest_per_repository")]

    def __str__(self):
        return f"{self.repository.name}@{self.digest}"

    @property
    def latest_report(self):
        """Uses reports prefetched newest first (selectors.with_latest_reports) when there are some."""
        if "reports" in getattr(self, "_prefetched_objects_cache", {}):
            return next(iter(self.reports.all()), None)
        return self.reports.order_by("-created", "-id").first()


class ImageTag(models.Model):
    """A catalog entry: a tag of a repository (or a local environment) with its lifecycle."""

    class Status(models.TextChoices):
        NEW = "new"
        APPROVED = "approved"
        DEPRECATED = "deprecated"
        RETIRED = "retired"

    class Kind(models.TextChoices):
        IMAGE = "image"
        LOCAL = "local", "local environment"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="tags")
    tag = models.CharField(max_length=128)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.IMAGE)
    manifest = models.ForeignKey(Manifest, null=True, blank=True, on_delete=models.SET_NULL, related_name="tags")
    python = models.CharField(max_length=500, blank=True, help_text="Local environments: the interpreter; empty means the platform's own.")
    managed = models.BooleanField(default=True, help_text="False: a platform/ tag that does not follow the CI tag pattern.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    all_teams = models.BooleanField(default=True)
    teams = models.ManyToManyField("accounts.Team", blank=True, related_name="image_tags")
    recommended = models.BooleanField(default=False)
    replacement = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces")
    deprecation_message = models.CharField(max_length=500, blank=True)
    digest_changed = models.BooleanField(default=False, help_text="The tag was re-pushed with other content.")
    previous_digest = models.CharField(max_length=80, blank=True)
    present = models.BooleanField(default=True, help_text="Seen in the registry at the last sync.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["repository__name", "-created"]
        constraints = [models.UniqueConstraint(fields=["repository", "tag"], name="imagetag_unique_tag_per_repository")]

    def __str__(self):
        return self.reference

    @property
    def reference(self):
        """What people type: ``platform/python:2026.11.23-4f2a9c1`` or ``local:default``."""
        if self.kind == self.Kind.LOCAL:
            return f"local:{self.tag}"
        return f"{self.repository.name}:{self.tag}"


class PackageRecord(models.Model):
    """A package found in an image's SBOM."""

    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="packages")
    name = models.CharField(max_length=200, db_index=True)
    version = models.CharField(max_length=100, blank=True)
    type = models.CharField(max_length=40, blank=True, help_text="python, deb, binary… (from the purl or the SBOM)")

    class Meta:
        ordering = ["name", "version"]


class Sbom(models.Model):
    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="sboms")
    format = models.CharField(max_length=20)
    package_count = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.CharField(max_length=150, blank=True)


class VulnerabilityReport(models.Model):
    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="reports")
    scanner = models.CharField(max_length=60, default="trivy")
    created = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.CharField(max_length=150, blank=True)
    counts = models.JSONField(default=dict, help_text="Findings per normalised severity.")
    notified = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created", "-id"]


class Finding(models.Model):
    report = models.ForeignKey(VulnerabilityReport, on_delete=models.CASCADE, related_name="findings")
    vulnerability_id = models.CharField(max_length=80, db_index=True)
    package = models.CharField(max_length=200)
    installed_version = models.CharField(max_length=100, blank=True)
    fixed_version = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=10)
    title = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["vulnerability_id", "package"]


class ScanPolicy(models.Model):
    """The scan gate: the platform's (team empty) and optionally one per team; the stricter applies."""

    class Threshold(models.TextChoices):
        CRITICAL = "CRITICAL", "critical"
        HIGH = "HIGH", "high or worse"
        MEDIUM = "MEDIUM", "medium or worse"
        LOW = "LOW", "low or worse"
        NONE = "", "never block on findings"

    team = models.OneToOneField("accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="scan_policy")
    block_threshold = models.CharField(max_length=10, choices=Threshold.choices, blank=True, default=Threshold.CRITICAL)
    allow_unscanned = models.BooleanField(default=False, help_text="Allow launching non-personal images with no report.")
    updated = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"scan policy of {self.team or 'the platform'}"


class ScanException(models.Model):
    """A time-boxed waiver: this CVE does not block launches until it expires."""

    vulnerability_id = models.CharField(max_length=80)
    repository = models.ForeignKey(Repository, null=True, blank=True, on_delete=models.CASCADE, related_name="scan_exceptions",
                                   help_text="Empty: every repository.")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="scan_exceptions",
                             help_text="Empty: every team.")
    justification = models.TextField()
    expires = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"exception for {self.vulnerability_id}"

    @property
    def active(self):
        return self.revoked is None and self.expires > timezone.now()


def robot_secret_digest(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


class RobotAccount(models.Model):
    """A CI identity: pushes and pulls the repositories its scopes name, until it expires or is revoked."""

    name = models.CharField(max_length=60, unique=True)
    description = models.CharField(max_length=200, blank=True)
    scopes = models.JSONField(default=list, help_text='[{"repository": "platform/python*", "actions": ["pull", "push"]}]')
    secret_digest = models.CharField(max_length=64, unique=True)
    expires = models.DateTimeField()
    revoked = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.username

    # Lets DRF treat an authenticated robot as a caller (images API only: reports and SBOMs).
    is_authenticated = True
    is_platform_admin = False

    @property
    def username(self):
        return f"robot${self.name}"

    @property
    def usable(self):
        return self.revoked is None and self.expires > timezone.now()
