from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from projects.stages import STAGE_BY_VALUE, STAGE_CHOICES

PROJECT_SLUG = RegexValidator(
    r"^[a-z0-9]([a-z0-9-]{0,48}[a-z0-9])?$",
    "Use 1–50 lower-case letters, digits and dashes, starting and ending with a letter or digit.",
)


class ProjectTemplate(models.Model):
    """A cookiecutter template new projects' files are rendered from: a directory on the platform's
    machine or a Git URL the platform can reach. The built-in one (projects/template/) needs no row."""

    name = models.CharField(max_length=60, unique=True)
    source = models.CharField(max_length=500, help_text="A cookiecutter directory on the platform or a Git URL.")
    description = models.CharField(max_length=300, blank=True)
    is_default = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True),
                                               name="project_template_one_default")]

    def __str__(self):
        return self.name


class Project(models.Model):
    """A unit of work, data and cost inside one team."""

    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="projects")
    name = models.CharField(max_length=100)
    slug = models.CharField(max_length=50, validators=[PROJECT_SLUG])
    description = models.TextField(blank=True)
    owners = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="owned_projects", blank=True)
    # Members: the whole team, or the people listed (owners are always members).
    whole_team = models.BooleanField(default=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="projects", blank=True)
    stage = models.CharField(max_length=16, choices=STAGE_CHOICES, default="define")
    repository_url = models.URLField(max_length=500, blank=True)
    board_url = models.URLField(max_length=500, blank=True)
    template = models.CharField(max_length=60, blank=True, help_text="The template its files came from.")
    archived = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["team__name", "name"]
        constraints = [models.UniqueConstraint(fields=["team", "slug"], name="project_unique_slug_per_team")]

    def __str__(self):
        return f"{self.team.slug}/{self.slug}"

    @property
    def stage_info(self):
        return STAGE_BY_VALUE[self.stage]

    @property
    def is_archived(self):
        return self.archived is not None


class ProjectStageChange(models.Model):
    """Append-only history of a project's stage: its timeline."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="stage_changes")
    stage = models.CharField(max_length=16, choices=STAGE_CHOICES)
    entered = models.DateTimeField(auto_now_add=True)
    actor_username = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["entered", "id"]
