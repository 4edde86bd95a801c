"""Image catalog services: registry credentials, catalog sync, lifecycle."""

import base64
import hmac
import json
import logging
import re
import secrets
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from observability import metrics
from portal.accounts.models import Membership, User
from portal.accounts.services import TOKEN_PREFIX, token_authenticate
from portal.audit.services import audit_record
from portal.ratelimit import secret_failure_record

from images.access import ACTIONS, granted_access, repository_actions, repository_owner_fields
from images.ingest import parse_sbom, parse_trivy
from images.models import (SEVERITIES, Finding, ImageTag, Manifest, PackageRecord, Repository, RobotAccount, Sbom,
                           ScanException, ScanPolicy, VulnerabilityReport, robot_secret_digest)
from images.registry import ManifestInfo, RegistryClient
from images.selectors import can_curate, local_python_problem
from images.tokens import registry_token_issue

logger = logging.getLogger(__name__)
Status = ImageTag.Status
ROBOT_PREFIX = "robot$"
OCI_LABELS = {
    "title": "org.opencontainers.image.title",
    "description": "org.opencontainers.image.description",
    "source": "org.opencontainers.image.source",
    "revision": "org.opencontainers.image.revision",
    "image_created": "org.opencontainers.image.created",
}


# --- Registry credentials ------------------------------------------------------

def robot_authenticate(raw_secret, *, name=None):
    """The usable robot whose secret this is (and whose name matches, when given), or None."""
    if not raw_secret:
        return None
    robot = RobotAccount.objects.filter(secret_digest=robot_secret_digest(raw_secret)).first()
    if robot is None or not robot.usable or (name is not None and robot.name != name):
        return None
    now = timezone.now()
    if robot.last_used is None or (now - robot.last_used).total_seconds() > 60:
        RobotAccount.objects.filter(pk=robot.pk).update(last_used=now)
    return robot


def registry_principal(username, password, *, request=None):
    """Who is asking for a registry token: ``(principal, read_only)``, principal being a robot
    (``robot$name`` + secret) or a user with a personal access token (``read_only`` when its scope is
    read) or their password; ``(None, False)`` if the credentials are wrong.

    Passwords count against PLATFORM_LOGIN_RATE in the authentication backend, wrong secrets here
    (both raise ``RateLimited`` past it)."""
    if not username or not password:
        return None, False
    if username.startswith(ROBOT_PREFIX) or password.startswith(TOKEN_PREFIX):
        if username.startswith(ROBOT_PREFIX):
            principal, read_only = robot_authenticate(password, name=username[len(ROBOT_PREFIX):]), False
        else:
            token = token_authenticate(password)
            principal = token.user if token is not None and token.user.username == username else None
            read_only = token is not None and not token.can_write
        if principal is None and request is not None:
            secret_failure_record(request=request)
        return principal, read_only
    user = authenticate(request, username=username, password=password)
    return (user if isinstance(user, User) and user.is_active else None), False


def registry_token_for(principal, scopes, *, read_only=False):
    """The token response the registry's clients expect (distribution token auth). A read-only
    personal token gets pulls only."""
    access = granted_access(principal, scopes) if principal is not None else []
    if read_only:
        access = [{**item, "actions": [action for action in item["actions"] if action == "pull"]} for item in access]
    subject = "" if principal is None else (principal.username if isinstance(principal, RobotAccount) else principal.get_username())
    token, lifetime = registry_token_issue(subject=subject, access=access)
    return {"token": token, "access_token": token, "expires_in": lifetime, "issued_at": timezone.now().isoformat()}


def _portal_token(scopes):
    """The portal's own token: full access to what it syncs."""
    access = []
    for scope in scopes:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        access.append({"type": kind, "name": name, "actions": actions.split(",")})
    return registry_token_issue(subject="portal", access=access, lifetime=120)[0]


def registry_client():
    """The configured registry, or None when there is none (local environments only)."""
    if not settings.PLATFORM_REGISTRY_URL:
        return None
    return RegistryClient(settings.PLATFORM_REGISTRY_URL, _portal_token)


def webhook_authorized(header):
    expected = f"Bearer {settings.PLATFORM_REGISTRY_WEBHOOK_TOKEN}"
    return bool(header) and hmac.compare_digest(header.encode(), expected.encode())


# --- Catalog sync ----------------------------------------------------------------

def tag_is_managed(repository_name, tag):
    """Tags under platform/ must follow the CI pattern; other namespaces are not policed."""
    if not repository_name.startswith("platform/"):
        return True
    return re.fullmatch(settings.PLATFORM_IMAGE_TAG_PATTERN, tag) is not None


def _repository_for(name):
    repository, created = Repository.objects.get_or_create(name=name, defaults=repository_owner_fields(name))
    if not created and not repository.present:
        Repository.objects.filter(pk=repository.pk).update(present=True)
    return repository


def _manifest_for(repository, info):
    labels = {key: str(value)[:500] for key, value in (info.labels or {}).items()}
    fields = {field: labels.get(label, "") for field, label in OCI_LABELS.items()}
    fields["image_created"] = fields["image_created"][:40]
    fields["title"] = fields["title"][:200]
    fields["revision"] = fields["revision"][:100]
    manifest, _ = Manifest.objects.get_or_create(
        repository=repository, digest=info.digest,
        defaults={"media_type": info.media_type[:120], "size_bytes": info.size_bytes, "labels": labels, **fields})
    return manifest


def tag_record(*, repository, tag, info):
    """Record that `repository:tag` points at `info` (a ManifestInfo). A changed digest is flagged
    and takes the tag out of launches until an admin approves it again. Idempotent."""
    manifest = _manifest_for(repository, info)
    with transaction.atomic():
        entry, created = ImageTag.objects.select_for_update().get_or_create(
            repository=repository, tag=tag,
            defaults={"manifest": manifest, "managed": tag_is_managed(repository.name, tag)})
        if created:
            return entry
        changes = {}
        if entry.manifest_id != manifest.pk:
            if entry.manifest_id is not None:
                changes.update(digest_changed=True, previous_digest=entry.manifest.digest)
                audit_record(action="image.digest_changed", target=entry,
                             data={"previous": entry.manifest.digest, "current": manifest.digest})
            changes["manifest"] = manifest
        if not entry.present:
            changes["present"] = True
        if changes:
            for key, value in changes.items():
                setattr(entry, key, value)
            entry.save()
    return entry


def repository_sync(*, name, client=None, page_size=100):
    """Bring one repository's tags and digests in line with the registry. Idempotent."""
    client = client or registry_client()
    if client is None:
        return None
    repository = _repository_for(name)
    seen = set()
    for tag in client.tags(name, page_size=page_size):
        # A HEAD per tag; the manifest and its labels are fetched only for digests not seen before.
        digest = client.digest(name, tag)
        if digest is None:
            continue
        known = Manifest.objects.filter(repository=repository, digest=digest).first()
        info = ManifestInfo(digest, known.media_type, known.size_bytes, known.labels) if known else client.manifest(name, tag)
        if info is None:
            continue
        tag_record(repository=repository, tag=tag, info=info)
        seen.add(tag)
    repository.tags.filter(kind=ImageTag.Kind.IMAGE, present=True).exclude(tag__in=seen).update(present=False)
    return repository


def catalog_sync(*, page_size=100):
    """Sync every repository the registry lists (following its pagination). Idempotent."""
    client = registry_client()
    if client is None:
        return []
    names = client.repositories(page_size=page_size)
    for name in names:
        repository_sync(name=name, client=client, page_size=page_size)
    gone = Repository.objects.exclude(namespace=Repository.Namespace.LOCAL).exclude(name__in=names).filter(present=True)
    ImageTag.objects.filter(repository__in=gone).update(present=False)
    gone.update(present=False)
    metrics.registry_synced()
    return names


def registry_events_accept(payload):
    """Repository names to re-sync from a registry notification envelope; raises ValueError if malformed."""
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise ValueError("expected an object with an 'events' list")
    names = set()
    for event in payload["events"]:
        if not isinstance(event, dict):
            raise ValueError("each event must be an object")
        target = event.get("target")
        if not isinstance(target, dict):
            raise ValueError("each event needs a 'target' object")
        if event.get("action") in ("push", "delete") and isinstance(target.get("repository"), str):
            names.add(target["repository"])
    return sorted(names)


# --- Lifecycle -------------------------------------------------------------------

def _check_can_curate(actor, entry):

    if not can_curate(actor, entry.repository):
        raise ValidationError({"detail": "You may not manage this image."})


def image_approve(*, entry, actor, all_teams=True, teams=(), recommended=False, request=None):
    """new/deprecated → approved, for all teams or the ones listed. Clears a digest-change flag."""
    _check_can_curate(actor, entry)
    if entry.kind == ImageTag.Kind.IMAGE and not entry.managed:
        raise ValidationError({"tag": f"{entry.reference} does not match the CI tag pattern "
                                      f"({settings.PLATFORM_IMAGE_TAG_PATTERN}): unmanaged tags cannot be approved."})
    if entry.status == Status.RETIRED:
        raise ValidationError({"status": "A retired image cannot be approved again."})
    if entry.kind == ImageTag.Kind.IMAGE and entry.manifest_id is None:
        raise ValidationError({"status": "This tag has no digest yet: sync the catalog first."})
    with transaction.atomic():
        entry.status = Status.APPROVED
        entry.all_teams = all_teams
        entry.recommended = recommended
        entry.digest_changed = False
        entry.replacement = None
        entry.deprecation_message = ""
        entry.save()
        entry.teams.set([] if all_teams else teams)
        audit_record(action="image.approved", actor=actor, request=request, target=entry,
                     data={"all_teams": all_teams, "teams": [team.slug for team in teams], "recommended": recommended,
                           "digest": entry.manifest.digest if entry.manifest_id else ""})
    return entry


def image_deprecate(*, entry, actor, replacement=None, message="", request=None):
    """approved → deprecated; launches of it are redirected to `replacement` (when given)."""
    _check_can_curate(actor, entry)
    if entry.status not in (Status.APPROVED, Status.DEPRECATED):
        raise ValidationError({"status": f"Only approved images can be deprecated (this one is {entry.status})."})
    if replacement is not None:
        if replacement.pk == entry.pk:
            raise ValidationError({"replacement": "An image cannot replace itself."})
        if replacement.status != Status.APPROVED:
            raise ValidationError({"replacement": f"The replacement must be approved (it is {replacement.status})."})
    with transaction.atomic():
        entry.status = Status.DEPRECATED
        entry.replacement = replacement
        entry.deprecation_message = message[:500]
        entry.recommended = False
        entry.save()
        audit_record(action="image.deprecated", actor=actor, request=request, target=entry,
                     data={"replacement": replacement.reference if replacement else "", "message": message})
    return entry


def image_retire(*, entry, actor, request=None):
    """→ retired: hidden from launch forms; existing workspaces keep their pinned reference."""
    _check_can_curate(actor, entry)
    with transaction.atomic():
        entry.status = Status.RETIRED
        entry.recommended = False
        entry.save()
        audit_record(action="image.retired", actor=actor, request=request, target=entry)
    return entry


def local_environment_save(*, name, python, actor, description="", request=None):
    """Create or update a catalog entry for a host Python environment (status new until approved)."""

    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,62}", name or ""):
        raise ValidationError({"name": "Use lower-case letters, digits, dots, dashes and underscores."})
    problem = local_python_problem(python)
    if problem:
        raise ValidationError({"python": problem})
    with transaction.atomic():
        repository, _ = Repository.objects.get_or_create(name=f"local/{name}", defaults={"namespace": Repository.Namespace.LOCAL})
        entry, created = ImageTag.objects.get_or_create(repository=repository, tag=name, defaults={"kind": ImageTag.Kind.LOCAL, "python": python})
        if not created:
            entry.python = python
            entry.save()
        audit_record(action="image.local_saved", actor=actor, request=request, target=entry,
                     data={"python": python, "created": created, "description": description})
    return entry


# --- Robot accounts ----------------------------------------------------------------

ROBOT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,59}")


def _validate_scopes(scopes):

    if not isinstance(scopes, list) or not scopes:
        raise ValidationError({"scopes": 'Give at least one scope: [{"repository": "platform/python*", "actions": ["push", "pull"]}].'})
    cleaned = []
    for scope in scopes:
        if not isinstance(scope, dict) or not isinstance(scope.get("repository"), str) or not scope["repository"].strip():
            raise ValidationError({"scopes": "Each scope needs a repository (a name or a pattern with *)."})
        actions = scope.get("actions", ["pull", "push"])
        if not isinstance(actions, list) or not actions or any(action not in ACTIONS for action in actions):
            raise ValidationError({"scopes": f"Actions must be a non-empty list of {', '.join(ACTIONS)}."})
        cleaned.append({"repository": scope["repository"].strip(), "actions": sorted(set(actions))})
    return cleaned


def _robot_make(*, name, description, scopes, expires, actor, audit_data, request=None):
    """The one place a robot and its secret are made (the secret is returned once and stored hashed), audited.
    Runs in the caller's transaction."""
    secret = "rbt_" + secrets.token_urlsafe(32)
    robot = RobotAccount.objects.create(name=name, description=description[:200], scopes=scopes,
                                        secret_digest=robot_secret_digest(secret), expires=expires, created_by=actor)
    audit_record(action="robot.created", actor=actor, request=request, target=robot, data={"scopes": scopes, **audit_data})
    return robot, secret


def robot_create(*, name, scopes, days, actor, description="", request=None):
    """A robot account and its secret (returned once, stored hashed)."""

    if not actor.is_platform_admin:
        raise ValidationError({"detail": "Only platform admins create robot accounts."})
    if not ROBOT_NAME.fullmatch(name or ""):
        raise ValidationError({"name": "Use 1–60 lower-case letters, digits, dashes and underscores."})
    if not isinstance(days, int) or not 1 <= days <= settings.PLATFORM_ROBOT_MAX_DAYS:
        raise ValidationError({"days": f"Give a lifetime between 1 and {settings.PLATFORM_ROBOT_MAX_DAYS} days."})
    scopes = _validate_scopes(scopes)
    if RobotAccount.objects.filter(name=name).exists():
        raise ValidationError({"name": f"A robot named {name!r} already exists."})
    try:
        with transaction.atomic():
            robot, secret = _robot_make(name=name, description=description, scopes=scopes, actor=actor, request=request,
                                        expires=timezone.now() + timedelta(days=days), audit_data={"days": days})
    except IntegrityError:  # the same name created at the same moment, between the check above and here
        raise ValidationError({"name": f"A robot named {name!r} already exists."}) from None
    return robot, secret


def robot_issue_for_job(*, name, scopes, seconds, actor, job=""):
    """A short-lived robot for one platform job (an image build): exactly ``scopes``, for ``seconds``; revoke it
    when the job ends. Not an admin act: the job checked the person's rights to each repository first."""
    with transaction.atomic():
        return _robot_make(name=name, description=job, scopes=_validate_scopes(scopes), actor=actor,
                           expires=timezone.now() + timedelta(seconds=seconds), audit_data={"job": job})


EMBEDDED_PULL_ROBOT_NOTE = "the hub's pull credential (made by make run)"


def pull_auth_file_ensure(path, *, registry_host, days=365, renew_within_days=30):
    """`make run` with its own registry: the hub's pull credential, a pull-only robot in a containers auth file at
    ``path`` (0600), made on first start and renewed when it nears its end. Returns ``path``. An admin who sets
    PLATFORM_REGISTRY_PULL_AUTH_FILE manages their own instead."""
    path = Path(path)
    now = timezone.now()
    current = RobotAccount.objects.filter(description=EMBEDDED_PULL_ROBOT_NOTE, revoked__isnull=True).order_by("-created").first()
    if current is not None and path.exists() and current.expires > now + timedelta(days=renew_within_days):
        return path
    with transaction.atomic():
        if current is not None:
            robot_revoke(robot=current, actor=None)
        robot, secret = _robot_make(name=f"hub-pull-{secrets.token_hex(3)}", description=EMBEDDED_PULL_ROBOT_NOTE,
                                    scopes=[{"repository": "*", "actions": ["pull"]}], actor=None,
                                    expires=now + timedelta(days=days), audit_data={"days": days})
    auth = base64.b64encode(f"{robot.username}:{secret}".encode()).decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps({"auths": {registry_host: {"auth": auth}}}))
    partial.chmod(0o600)
    partial.replace(path)
    return path


def robot_revoke(*, robot, actor, request=None):
    """Idempotent: revoking a revoked robot changes nothing."""
    with transaction.atomic():
        robot = RobotAccount.objects.select_for_update().get(pk=robot.pk)
        if robot.revoked is None:
            robot.revoked = timezone.now()
            robot.save(update_fields=["revoked"])
            audit_record(action="robot.revoked", actor=actor, request=request, target=robot)
    return robot


# --- What is inside, what is wrong: SBOMs and scan reports ------------------------------

def _manifest_for_upload(*, digest, repository_name, principal):
    """The digest's manifest, if `principal` may push to its repository (attaching is a push-level act)."""

    manifests = Manifest.objects.filter(digest=digest).select_related("repository")
    if repository_name:
        manifests = manifests.filter(repository__name=repository_name)
    manifests = [m for m in manifests if "push" in repository_actions(principal, m.repository.name)]
    if not manifests:
        raise ValidationError({"digest": f"No image with digest {digest} that you may push to"
                                         f"{' in ' + repository_name if repository_name else ''}: push it and let the catalog sync first."})
    if len(manifests) > 1:
        raise ValidationError({"repository": "That digest is in several repositories: name the repository."})
    return manifests[0]


def _principal_name(principal):
    return principal.username if isinstance(principal, RobotAccount) else principal.get_username()


def sbom_attach(*, digest, sbom, principal, repository="", request=None):
    """Replace the digest's package list with the SBOM's. Idempotent for the same document."""

    manifest = _manifest_for_upload(digest=digest, repository_name=repository, principal=principal)
    try:
        parsed = parse_sbom(sbom)
    except ValueError as exc:
        raise ValidationError({"sbom": [f"sbom {exc}"]}) from None
    with transaction.atomic():
        manifest.packages.all().delete()
        PackageRecord.objects.bulk_create([PackageRecord(manifest=manifest, name=p.name, version=p.version, type=p.type)
                                           for p in parsed.packages])
        manifest.python_version = parsed.python_version
        manifest.save(update_fields=["python_version"])
        Sbom.objects.create(manifest=manifest, format=parsed.format, package_count=len(parsed.packages),
                            uploaded_by=_principal_name(principal))
    return manifest, parsed


def _finding_keys(report):
    return {(f.vulnerability_id, f.package) for f in report.findings.all()} if report is not None else set()


def report_new_findings(report):
    """Findings in `report` that the previous report (same digest, else same repository) did not have."""

    earlier = VulnerabilityReport.objects.filter(pk__lt=report.pk)
    previous = (earlier.filter(manifest=report.manifest).order_by("-pk").first()
                or earlier.filter(manifest__repository=report.manifest.repository).order_by("-pk").first())
    known = _finding_keys(previous)
    return [f for f in report.findings.all() if (f.vulnerability_id, f.package) not in known]


def report_attach(*, digest, report, principal, repository="", request=None):
    """Store a Trivy JSON report for a digest; the owners hear about new findings (one message, after commit)."""

    manifest = _manifest_for_upload(digest=digest, repository_name=repository, principal=principal)
    try:
        findings = parse_trivy(report)
    except ValueError as exc:
        raise ValidationError({"report": [f"report {exc}"]}) from None
    counts = {severity: 0 for severity in reversed(SEVERITIES)}
    for finding in findings:
        counts[finding.severity] += 1
    with transaction.atomic():
        stored = VulnerabilityReport.objects.create(manifest=manifest, counts=counts, uploaded_by=_principal_name(principal))
        Finding.objects.bulk_create([Finding(report=stored, **finding.__dict__) for finding in findings])
        new = report_new_findings(stored)
        if new:
            from images import tasks

            transaction.on_commit(lambda: tasks.report_notify_task.delay(stored.pk))
        else:
            VulnerabilityReport.objects.filter(pk=stored.pk).update(notified=True)
    return stored, new


def image_owners(repository):
    """Who hears about an image: platform admins, the team's admins, or the user."""

    if repository.namespace == Repository.Namespace.USER:
        return [repository.owner] if repository.owner and repository.owner.is_active else []
    if repository.namespace == Repository.Namespace.TEAM and repository.team_id:
        return list(User.objects.filter(is_active=True, memberships__team_id=repository.team_id,
                                        memberships__role=Membership.Role.ADMIN))
    return list(User.objects.filter(is_active=True, is_staff=True))


def report_notify(*, report_id):
    """Send the one message about a report's new findings. Idempotent: a report is announced once."""


    with transaction.atomic():
        report = (VulnerabilityReport.objects.select_for_update().select_related("manifest__repository")
                  .filter(pk=report_id, notified=False).first())
        if report is None:
            return False
        new = report_new_findings(report)
        recipients = sorted({user.email for user in image_owners(report.manifest.repository) if user.email})
        report.notified = True
        report.save(update_fields=["notified"])
    if not new or not recipients:
        return False
    tags = ", ".join(report.manifest.tags.values_list("tag", flat=True)) or "untagged"
    lines = [f"A new vulnerability report for {report.manifest.repository.name} ({tags}, {report.manifest.digest})",
             f"adds {len(new)} finding(s) the previous report did not have:", ""]
    lines += [f"  {f.severity:<8} {f.vulnerability_id} in {f.package} {f.installed_version}"
              + (f" (fixed in {f.fixed_version})" if f.fixed_version else "") for f in new]
    lines += ["", f"Totals by severity: {report.counts}", f"{settings.PLATFORM_PUBLIC_URL}/images/"]
    # Sent after the flag is committed: a retry after a crash here loses one message rather than repeating it.
    send_mail(f"[{settings.PLATFORM_SITE_NAME}] {len(new)} new finding(s) in {report.manifest.repository.name}",
              "\n".join(lines), None, recipients)
    return True


# --- Scan policy and exceptions ----------------------------------------------------------

def scan_policy_save(*, team, block_threshold, allow_unscanned, actor, request=None):

    with transaction.atomic():
        policy, _ = ScanPolicy.objects.get_or_create(team=team)
        policy.block_threshold = block_threshold
        policy.allow_unscanned = allow_unscanned
        policy.save()
        audit_record(action="image.scan_policy_saved", actor=actor, request=request, target=policy,
                     data={"team": team.slug if team else None, "block_threshold": block_threshold,
                           "allow_unscanned": allow_unscanned})
    return policy


def scan_exception_create(*, vulnerability_id, justification, expires, actor, repository=None, team=None, request=None):

    if expires <= timezone.now():
        raise ValidationError({"expires": "The expiry must be in the future."})
    if (expires - timezone.now()).days > 366:
        raise ValidationError({"expires": "Exceptions are time-boxed: at most a year."})
    if not (justification or "").strip():
        raise ValidationError({"justification": "Say why this finding is acceptable."})
    with transaction.atomic():
        exception = ScanException.objects.create(vulnerability_id=vulnerability_id, justification=justification.strip(),
                                                 expires=expires, repository=repository, team=team, created_by=actor)
        audit_record(action="image.scan_exception_created", actor=actor, request=request, target=exception,
                     data={"vulnerability_id": vulnerability_id, "expires": expires.isoformat(),
                           "repository": repository.name if repository else None, "team": team.slug if team else None})
    return exception


def scan_exception_revoke(*, exception, actor, request=None):
    with transaction.atomic():
        if exception.revoked is None:
            exception.revoked = timezone.now()
            exception.save(update_fields=["revoked"])
            audit_record(action="image.scan_exception_revoked", actor=actor, request=request, target=exception)
    return exception


def local_default_ensure(*, using="default"):
    """``local:default``, the platform's own Python, approved for all teams unless an admin changed it. Idempotent."""
    repository, _ = Repository.objects.using(using).get_or_create(
        name="local/default", defaults={"namespace": Repository.Namespace.LOCAL})
    entry, _ = ImageTag.objects.using(using).get_or_create(
        repository=repository, tag="default",
        defaults={"kind": ImageTag.Kind.LOCAL, "python": "", "status": Status.APPROVED, "all_teams": True})
    return entry
