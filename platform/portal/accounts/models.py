import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class User(AbstractUser):
    """A person using the platform. Platform admins are staff users."""

    @property
    def is_platform_admin(self):
        return self.is_active and (self.is_staff or self.is_superuser)


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    # IANA name; budget periods start at midnight in this zone (costs app).
    time_zone = models.CharField(max_length=64, default="UTC")
    # Made at the platform's first start so the first admin can launch at once (workspaces/starter.py).
    starter = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        ADMIN = "admin", "Team admin"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user")]

    def __str__(self):
        return f"{self.user} in {self.team} ({self.role})"


def token_digest(raw_token):
    """Tokens are 256-bit random strings, so a plain SHA-256 is a safe storage form."""
    return hashlib.sha256(raw_token.encode()).hexdigest()


class AccessTokenQuerySet(models.QuerySet):
    def usable(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked__isnull=True, expires__gt=now)


class AccessToken(models.Model):
    """A personal access token for the API. Only its digest is stored; the secret is shown once."""

    class Scope(models.TextChoices):
        # As JupyterHub's and GitHub's tokens: a token does at most what its owner may, and a
        # read-only one only reads (GET, HEAD, OPTIONS; registry pulls).
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.WRITE)
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise a token in lists.")
    digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    objects = AccessTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def can_write(self):
        return self.scope == self.Scope.WRITE

    @property
    def is_usable(self):
        return self.revoked is None and self.expires > timezone.now()

    @property
    def state(self):
        if self.revoked is not None:
            return "revoked"
        if self.expires <= timezone.now():
            return "expired"
        return "active"


class ExternalIdentity(models.Model):
    """Links a user to a subject at an external OpenID Connect provider."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created = models.DateTimeField(auto_now_add=True)
    last_login = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="external_identity_unique_subject")
        ]

    def __str__(self):
        return f"{self.subject} at {self.issuer}"
