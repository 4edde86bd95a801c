"""Shared notebooks (immutable versions, audiences, secret links) and live shares of running workspaces."""

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    VIEW = "view", "view"  # the rendered page and the .ipynb
    COPY = "copy", "copy"  # and a copy into one of the recipient's workspaces


class SharedNotebook(models.Model):
    """One notebook path of one person; each publish of it adds a NotebookVersion."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shared_notebooks")
    path = models.CharField(max_length=500, help_text="Where it lives in the owner's workspace home.")
    title = models.CharField(max_length=200)
    everyone_role = models.CharField(max_length=8, choices=Role.choices, blank=True, default="",
                                     help_text="Shared with everyone on the platform in this role; empty: not.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "path"], name="sharing_one_notebook_per_path")]
        ordering = ["-created"]

    def __str__(self):
        return f"{self.owner.get_username()}:{self.path}"


class NotebookVersion(models.Model):
    """Immutable: the stored .ipynb and its rendering are named by their SHA-256 (content-addressed)."""

    notebook = models.ForeignKey(SharedNotebook, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    html_sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    author_username = models.CharField(max_length=150)
    message = models.CharField(max_length=500, blank=True)
    workspace_name = models.CharField(max_length=40, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["notebook", "number"], name="sharing_version_number_unique")]
        ordering = ["-number"]

    def __str__(self):
        return f"{self.notebook} v{self.number}"


class VersionFile(models.Model):
    """A small file the owner attached to a version (data, a helper module the notebook names), stored
    content-addressed like the notebook. A copy writes it at the same place relative to the notebook."""

    version = models.ForeignKey(NotebookVersion, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=500, help_text="Relative to the notebook's folder.")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "path"], name="sharing_version_file_unique")]
        ordering = ["path"]

    def __str__(self):
        return f"{self.version}: {self.path}"


class Snapshot(models.Model):
    """A publish request, done by Celery. Only a finished snapshot has a version: a failed one leaves none and
    can be retried."""

    class State(models.TextChoices):
        QUEUED = "queued"
        DONE = "done"
        FAILED = "failed"

    notebook = models.ForeignKey(SharedNotebook, on_delete=models.CASCADE, related_name="snapshots")
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.SET_NULL, null=True, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    message = models.CharField(max_length=500, blank=True)
    attachments = models.JSONField(default=list, blank=True,
                                   help_text="Files to publish with the notebook, relative to its folder.")
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    error = models.CharField(max_length=500, blank=True)
    version = models.OneToOneField(NotebookVersion, on_delete=models.SET_NULL, null=True, related_name="snapshot")
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-created"]


class Grant(models.Model):
    """A notebook shared with one person or one team."""

    notebook = models.ForeignKey(SharedNotebook, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+")
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, null=True, related_name="+")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.VIEW)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(user__isnull=True) ^ models.Q(team__isnull=True),
                                   name="sharing_grant_user_xor_team"),
            models.UniqueConstraint(fields=["notebook", "user"], name="sharing_grant_user_unique"),
            models.UniqueConstraint(fields=["notebook", "team"], name="sharing_grant_team_unique"),
        ]

    def __str__(self):
        return f"{self.notebook} → {self.user or self.team} ({self.role})"


class SecretLink(models.Model):
    """Anyone with the link views the notebook's latest version until it expires or is revoked. Only the
    token's SHA-256 is stored: the link is shown once."""

    notebook = models.ForeignKey(SharedNotebook, on_delete=models.CASCADE, related_name="links")
    token_sha256 = models.CharField(max_length=64, unique=True)
    expires = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]


class LiveShare(models.Model):
    """A running workspace shared with a person through JupyterHub's shares API (the hub enforces it)."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="live_shares")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="live_shares")
    team = models.ForeignKey("accounts.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                             help_text="Granted as part of sharing with this team.")
    expires = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], condition=models.Q(revoked__isnull=True),
                                               name="sharing_one_live_share_per_person")]


class NotebookCopy(models.Model):
    """A version written into one of the recipient's workspaces by Celery, under a name that was free."""

    class State(models.TextChoices):
        QUEUED = "queued"
        DONE = "done"
        FAILED = "failed"

    version = models.ForeignKey(NotebookVersion, on_delete=models.CASCADE, related_name="copies")
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    path = models.CharField(max_length=500, blank=True, help_text="Where it was written, in the workspace's home.")
    error = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
