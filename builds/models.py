"""Image builds: a curated definition from the repository, or a person's environment from a workspace folder,
built by a Celery job into the registry with its SBOM. One row per build, with its log and the step it reached."""

from django.conf import settings
from django.db import models


class ImageBuild(models.Model):
    class Kind(models.TextChoices):
        CURATED = "curated", "curated definition"
        CUSTOM = "custom", "custom (from a workspace)"

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE = (State.QUEUED, State.RUNNING)

    kind = models.CharField(max_length=8, choices=Kind.choices)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="image_builds")
    definition = models.CharField(max_length=60, blank=True, help_text="Curated: the folder under images/definitions/.")
    workspace = models.ForeignKey("workspaces.Workspace", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    workspace_name = models.CharField(max_length=100, blank=True)
    folder = models.CharField(max_length=400, blank=True, help_text="Custom: the folder in the workspace's home.")
    files = models.JSONField(default=dict, blank=True, help_text="Custom: the recipe files read from the folder.")
    base = models.ForeignKey("images.ImageTag", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    base_reference = models.CharField(max_length=400, blank=True, help_text="Pinned by digest when the build was asked for.")
    repository = models.CharField(max_length=255, help_text="Where it is pushed: users/<name>/…, teams/<slug>/… or platform/….")
    tag = models.CharField(max_length=128, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    step = models.CharField(max_length=20, blank=True, help_text="The step running now, or the one that failed.")
    error = models.TextField(blank=True)
    log = models.TextField(blank=True)
    digest = models.CharField(max_length=80, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    image = models.ForeignKey("images.ImageTag", null=True, blank=True, on_delete=models.SET_NULL, related_name="builds")
    cancel_requested = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["owner", "state"])]

    def __str__(self):
        return f"build {self.pk} of {self.reference}"

    @property
    def reference(self):
        return f"{self.repository}:{self.tag}" if self.tag else self.repository

    @property
    def finished_ok(self):
        return self.state == self.State.SUCCEEDED
