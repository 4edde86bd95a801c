"""Reads scoped to the caller: which catalog entries they see, may curate, and may launch."""

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.utils import timezone

from portal.accounts.models import Membership

from images.models import Finding, ImageTag, Repository, ScanException, ScanPolicy, VulnerabilityReport, severity_rank

Status = ImageTag.Status
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def can_curate(user, repository):
    """Platform admins curate everything; team admins their team's namespace; users their own."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_platform_admin:
        return True
    if repository.namespace == Repository.Namespace.TEAM and repository.team_id:
        return Membership.objects.filter(user=user, team_id=repository.team_id, role=Membership.Role.ADMIN).exists()
    if repository.namespace == Repository.Namespace.USER:
        return repository.owner_id == user.pk
    return False


# The libraries people look for first: shown next to each image (from its SBOM).
KEY_PACKAGES = ["jupyterlab", "numpy", "pandas", "scikit-learn", "scipy", "polars", "torch", "tensorflow", "jax",
                "xgboost", "pyspark", "r-base"]


def key_packages(manifest):
    """[(name, version)] of the key libraries in a digest, in KEY_PACKAGES order (uses the prefetch when present)."""
    found = {package.name.lower(): package.version for package in getattr(manifest, "key_packages", [])}
    return [(name, found[name]) for name in KEY_PACKAGES if name in found]


def with_latest_reports(entries, *, findings=False):
    """Prefetch each entry's digest's reports newest first (and their findings): no query per entry."""
    reports = VulnerabilityReport.objects.order_by("-created", "-id")
    if findings:
        reports = reports.prefetch_related(Prefetch("findings", queryset=Finding.objects.order_by("vulnerability_id")))
    return entries.prefetch_related(Prefetch("manifest__reports", queryset=reports))


def catalog_for(user):
    """Catalog entries `user` may see (admins: all; others: what they could launch, plus their own namespaces)."""
    from images.models import PackageRecord

    entries = with_latest_reports(ImageTag.objects.select_related("repository", "manifest", "replacement__repository")
                                  .prefetch_related("teams", Prefetch("manifest__packages", to_attr="key_packages",
                                                                      queryset=PackageRecord.objects.filter(name__in=KEY_PACKAGES))))
    if user.is_platform_admin:
        return entries
    team_ids = list(Membership.objects.filter(user=user).values_list("team_id", flat=True))
    shared = Q(repository__namespace__in=[Repository.Namespace.PLATFORM, Repository.Namespace.LOCAL],
               status__in=[Status.APPROVED, Status.DEPRECATED]) & (Q(all_teams=True) | Q(teams__in=team_ids))
    # A team's own namespace: its admins see everything in it (to approve it); members what was approved.
    admin_team_ids = list(Membership.objects.filter(user=user, role=Membership.Role.ADMIN).values_list("team_id", flat=True))
    team = Q(repository__namespace=Repository.Namespace.TEAM) & (
        Q(repository__team_id__in=admin_team_ids)
        | Q(repository__team_id__in=team_ids, status__in=[Status.APPROVED, Status.DEPRECATED]))
    own = Q(repository__namespace=Repository.Namespace.USER, repository__owner=user)
    return entries.filter(shared | team | own).exclude(Q(status=Status.RETIRED) & ~own).distinct()


def scan_exceptions_for(user):
    """Scan exceptions `user` may see: all for platform admins; for others those that apply to every
    team or to one of theirs, on every repository or one whose namespace they may see (so another
    team's exceptions and repository names do not leak)."""
    exceptions = ScanException.objects.all()
    if user.is_platform_admin:
        return exceptions
    team_ids = list(Membership.objects.filter(user=user).values_list("team_id", flat=True))
    repository_seen = (Q(repository__isnull=True)
                       | Q(repository__namespace__in=[Repository.Namespace.PLATFORM, Repository.Namespace.LOCAL])
                       | Q(repository__namespace=Repository.Namespace.TEAM, repository__team_id__in=team_ids)
                       | Q(repository__namespace=Repository.Namespace.USER, repository__owner=user))
    return exceptions.filter(Q(team__isnull=True) | Q(team_id__in=team_ids)).filter(repository_seen)


def local_python_problem(python):
    """Why `python` cannot serve as a local environment, or "" (empty means the platform's own Python)."""
    if not python:
        return ""
    if not os.path.isabs(python):
        return "Give an absolute path to a python executable."
    if not os.access(python, os.X_OK):
        return f"{python} is not an executable on this host."
    try:
        check = subprocess.run([python, "-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('jupyterhub') is None)"],
                               capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{python} could not be run: {exc}"
    if check.returncode != 0:
        return f"{python} has no JupyterHub installed (pip install jupyterhub jupyterlab in that environment)."
    return ""


# --- Scan gate -----------------------------------------------------------------------

@dataclass(frozen=True)
class EffectivePolicy:
    block_threshold: str
    allow_unscanned: bool


def effective_policy(team):
    """The platform's policy tightened by the team's: the lower threshold and both must allow unscanned."""
    policies = list(ScanPolicy.objects.filter(Q(team__isnull=True) | Q(team=team)))
    if not any(policy.team_id is None for policy in policies):
        policies.append(ScanPolicy())  # the default: block critical findings and unscanned images
    thresholds = [policy.block_threshold for policy in policies if policy.block_threshold]
    threshold = min(thresholds, key=severity_rank) if thresholds else ""
    return EffectivePolicy(threshold, all(policy.allow_unscanned for policy in policies))


def active_exceptions(*, repository, team, now=None):
    now = now or timezone.now()
    return ScanException.objects.filter(revoked__isnull=True, expires__gt=now).filter(
        Q(repository__isnull=True) | Q(repository=repository)).filter(Q(team__isnull=True) | Q(team=team))


def gate_problems(entry, *, team, policy=None, exceptions=None):
    """Why the scan gate blocks launching `entry` for `team` ([] if it does not).

    `exceptions`: the active ScanExceptions, when the caller checks many entries at once."""
    if entry.kind == ImageTag.Kind.LOCAL or entry.manifest_id is None:
        return []
    policy = policy or effective_policy(team)
    personal = entry.repository.namespace == Repository.Namespace.USER
    report = entry.manifest.latest_report
    if report is None:
        if personal or policy.allow_unscanned:
            return []
        return ["not scanned: no vulnerability report has been attached to this digest"]
    if not policy.block_threshold:
        return []
    if exceptions is None:
        exceptions = list(active_exceptions(repository=entry.repository, team=team))
    waived = {e.vulnerability_id for e in exceptions
              if e.repository_id in (None, entry.repository_id) and e.team_id in (None, getattr(team, "pk", None))}
    blocking = sorted({finding.vulnerability_id for finding in report.findings.all()
                       if severity_rank(finding.severity) >= severity_rank(policy.block_threshold)
                       and finding.vulnerability_id not in waived})
    if not blocking:
        return []
    shown = ", ".join(blocking[:5]) + (f" and {len(blocking) - 5} more" if len(blocking) > 5 else "")
    return [f"{len(blocking)} finding(s) at or above {policy.block_threshold.lower()}: {shown}"]


# --- Launch choices ------------------------------------------------------------------

@dataclass
class LaunchChoice:
    entry: ImageTag
    recommended: bool = False
    deprecated: bool = False
    replacement: ImageTag | None = None
    message: str = ""
    blocked: list = field(default_factory=list)

    @property
    def value(self):
        return self.entry.reference

    def as_dict(self):
        return {"reference": self.entry.reference, "id": self.entry.pk, "kind": self.entry.kind,
                "recommended": self.recommended, "deprecated": self.deprecated,
                "replacement": self.replacement.reference if self.replacement else None,
                "message": self.message, "blocked": bool(self.blocked), "blocked_reasons": self.blocked}


def _visible_for_launch(entry, *, user, team):
    namespace = entry.repository.namespace
    if entry.kind == ImageTag.Kind.IMAGE and (not settings.PLATFORM_REGISTRY_URL or not entry.present or entry.manifest_id is None):
        return False
    if namespace == Repository.Namespace.USER:
        return entry.repository.owner_id == user.pk and entry.status != Status.RETIRED
    if entry.status not in (Status.APPROVED, Status.DEPRECATED):
        return False
    if namespace == Repository.Namespace.TEAM:
        return team is not None and entry.repository.team_id == team.pk
    if namespace in (Repository.Namespace.PLATFORM, Repository.Namespace.LOCAL):
        return entry.all_teams or (team is not None and any(t.pk == team.pk for t in entry.teams.all()))
    return False


def launch_choices(*, user, team):
    """What `user` may pick when launching for `team`, with badges; blocked ones say why."""
    policy = effective_policy(team)
    exceptions = list(ScanException.objects.filter(revoked__isnull=True, expires__gt=timezone.now()))
    choices = []
    entries = with_latest_reports(ImageTag.objects.exclude(status=Status.RETIRED)
                                  .select_related("repository", "manifest", "replacement__repository", "replacement__manifest")
                                  .prefetch_related("teams").order_by("-recommended", "repository__name", "-created"), findings=True)
    for entry in entries:
        if not _visible_for_launch(entry, user=user, team=team):
            continue
        choice = LaunchChoice(entry=entry, recommended=entry.recommended and entry.status == Status.APPROVED,
                              deprecated=entry.status == Status.DEPRECATED, replacement=entry.replacement,
                              message=entry.deprecation_message)
        if choice.deprecated and choice.replacement is not None:
            choices.append(choice)  # it launches its replacement, which carries its own badges
            continue
        if entry.digest_changed and entry.repository.namespace != Repository.Namespace.USER:
            choice.blocked.append("the tag was re-pushed with different content; an admin must approve it again")
        choice.blocked.extend(gate_problems(entry, team=team, policy=policy, exceptions=exceptions))
        choices.append(choice)
    return choices


def _strip_registry_host(reference):
    host = settings.PLATFORM_REGISTRY_HOST
    if host and reference.startswith(host + "/"):
        return reference[len(host) + 1:]
    return reference


def _find(choices, reference):
    reference = _strip_registry_host(reference.strip())
    for choice in choices:
        entry = choice.entry
        if reference in (entry.reference, str(entry.pk)):
            return choice
        if entry.manifest_id and reference == f"{entry.repository.name}@{entry.manifest.digest}":
            return choice
    return None


def pinned_reference(entry):
    """What a workspace stores: ``local:<name>`` or ``<registry>/<repo>@sha256:…`` (never a tag)."""
    if entry.kind == ImageTag.Kind.LOCAL:
        return entry.reference
    host = settings.PLATFORM_REGISTRY_HOST
    return f"{host + '/' if host else ''}{entry.repository.name}@{entry.manifest.digest}"


def default_choice(choices):
    usable = [choice for choice in choices if not choice.blocked and not choice.deprecated]
    for choice in usable:
        if choice.recommended:
            return choice
    return next(iter(usable), None)


def launch_resolve(*, user, team, reference):
    """The catalog entry a launch of `reference` runs and its pinned reference.

    Deprecated entries with a replacement redirect to it. Unknown or blocked images raise a
    ValidationError on field ``image`` that says why.
    """
    choices = launch_choices(user=user, team=team)
    reference = (reference or "").strip()
    if not reference:
        choice = default_choice(choices)
        if choice is None:
            raise ValidationError({"image": "No image is available to your team yet; ask a platform admin to approve one."})
    else:
        choice = _find(choices, reference)
        if choice is None:
            available = ", ".join(c.entry.reference for c in choices if not c.blocked) or "none"
            raise ValidationError({"image": f"Unknown image {reference!r}, or not available to you. Available: {available}."})
    seen = {choice.entry.pk}
    while choice.deprecated and choice.replacement is not None:
        follow = next((c for c in choices if c.entry.pk == choice.replacement.pk), None)
        if follow is None or follow.entry.pk in seen:
            raise ValidationError({"image": f"{choice.entry.reference} is deprecated and its replacement "
                                            f"{choice.replacement.reference} is not available to you."})
        seen.add(follow.entry.pk)
        choice = follow
    if choice.blocked:
        raise ValidationError({"image": f"{choice.entry.reference} is blocked: {'; '.join(choice.blocked)}."})
    return choice.entry, pinned_reference(choice.entry)


def launch_environment_for(stored):
    """The spawner's view of a stored reference (see spawner/spec.py). Retired entries still resolve:
    existing workspaces keep their history and can restart."""
    if stored.startswith("local:"):
        entry = ImageTag.objects.filter(kind=ImageTag.Kind.LOCAL, tag=stored[len("local:"):]).first()
        if entry is None:
            raise ValueError(f"unknown local environment {stored!r}")
        return {"kind": "local", "python": entry.python or sys.executable}
    if "@sha256:" in stored:
        return {"kind": "image", "reference": stored}
    raise ValueError(f"{stored!r} is not pinned by digest")
