"""Project templates: which cookiecutter template a project's files come from, and rendering one into a
git repository whose files the workspaces side writes into a workspace's home (workspaces/project_files.py).

The built-in template (`dslp`, in projects/template/) follows the data-science lifecycle of
projects/stages.py; platform admins register more, as a cookiecutter directory on the platform's machine
or a Git URL it can reach, and pick the default. Rendering runs in a Celery worker, never in a request:
it clones, renders and commits in a private temporary directory, with template hooks off (a template is
data, not code the platform runs) and git's global and system configuration ignored.
"""

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from portal.audit.services import audit_record
from projects.models import ProjectTemplate
from projects.stages import STAGES

BUILTIN_NAME = "dslp"
BUILTIN_DIR = Path(__file__).resolve().parent / "template" / "dslp"
GIT_URL_PREFIXES = ("https://", "http://", "ssh://", "git://", "git@", "file://")
GIT_TIMEOUT = 60
MAX_TOTAL_BYTES = 50 * 2**20  # what a template may put in a home; more is not a template but a data set


class TemplateError(Exception):
    """The template could not be fetched or rendered; the message says why, for the person who asked."""


def is_git_url(source):
    return source.startswith(GIT_URL_PREFIXES)


def _git(*args, cwd=None, env=None):
    # No prompt ever (a worker has no one to answer it): not git's for a password, not ssh's for a host key.
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
            "GIT_SSH_COMMAND": "ssh -o BatchMode=yes", "HOME": cwd or tempfile.gettempdir(), "LC_ALL": "C"}
    return subprocess.run(["git", *args], cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=GIT_TIMEOUT, check=False)


def template_check_source(source):
    """Refuse (ValidationError on `source`) a template the platform cannot use: a directory without
    cookiecutter.json, or a Git URL that does not answer."""
    source = (source or "").strip()
    if is_git_url(source):
        try:
            result = _git("ls-remote", "--exit-code", source, "HEAD")
        except subprocess.TimeoutExpired:
            raise ValidationError({"source": f"The Git URL {source} did not answer within {GIT_TIMEOUT} s."}) from None
        if result.returncode != 0:
            reason = (result.stderr.strip().splitlines() or ["no HEAD"])[-1][:200]
            raise ValidationError({"source": f"The platform cannot read the Git URL {source}: {reason}"})
        return source
    path = Path(source)
    if not path.is_absolute() or not (path / "cookiecutter.json").is_file():
        raise ValidationError({"source": "Give a Git URL or the absolute path of a directory with a cookiecutter.json."})
    return str(path)


def template_register(*, actor, name, source, description="", is_default=False, request=None):
    """Register a template (platform admins); with ``is_default`` it becomes the default for new project files."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the template a name."})
    if name == BUILTIN_NAME or ProjectTemplate.objects.filter(name=name).exists():
        raise ValidationError({"name": f"A template named {name!r} exists already."})
    source = template_check_source(source)
    try:
        with transaction.atomic():
            if is_default:
                ProjectTemplate.objects.filter(is_default=True).update(is_default=False)
            template = ProjectTemplate.objects.create(name=name, source=source, description=description,
                                                      is_default=is_default, created_by=actor.get_username())
            audit_record(action="project_template.register", actor=actor, request=request, target=template,
                         data={"source": source, "is_default": is_default})
    except IntegrityError:
        raise ValidationError({"name": f"A template named {name!r} exists already."}) from None
    return template


def template_set_default(*, actor, name, request=None):
    """Make ``name`` the default template (the built-in `dslp` too: then no registered one is the default)."""
    with transaction.atomic():
        if name != BUILTIN_NAME and not ProjectTemplate.objects.filter(name=name).exists():
            raise ValidationError({"template": f"No template {name!r}."})
        ProjectTemplate.objects.filter(is_default=True).exclude(name=name).update(is_default=False)
        ProjectTemplate.objects.filter(name=name).update(is_default=True)
        audit_record(action="project_template.default", actor=actor, request=request, data={"template": name})


def template_resolve(name=""):
    """(name, source) of the template called ``name``, or of the default one when it is empty;
    ValidationError on `template` for an unknown name."""
    name = (name or "").strip()
    if not name:
        default = ProjectTemplate.objects.filter(is_default=True).first()
        return (default.name, default.source) if default else (BUILTIN_NAME, str(BUILTIN_DIR))
    if name == BUILTIN_NAME:
        return BUILTIN_NAME, str(BUILTIN_DIR)
    template = ProjectTemplate.objects.filter(name=name).first()
    if template is None:
        names = [BUILTIN_NAME, *ProjectTemplate.objects.values_list("name", flat=True)]
        raise ValidationError({"template": f"No template {name!r}; one of: {', '.join(names)}."})
    return template.name, template.source


def stage_checklist():
    """The README's stage checklist: each lifecycle stage with its deliverables, as Markdown task lists."""
    lines = []
    for number, stage in enumerate(STAGES, start=1):
        lines.append(f"{number}. **{stage.label}**: {stage.goal}")
        lines.extend(f"   - [ ] {item}" for item in stage.deliverables)
    return "\n".join(lines)


@dataclass(frozen=True)
class ProjectFiles:
    """A rendered project: the folder's name, its directories and files (relative paths; `.git` included)."""

    folder: str
    directories: list = field(default_factory=list)
    files: dict = field(default_factory=dict)
    commit: str = ""


@dataclass(frozen=True)
class RenderContext:
    name: str
    slug: str
    description: str
    team: str
    repository_url: str
    board_url: str
    author_name: str
    author_email: str


def project_files_render(*, source, context, template_name):
    """Render the template at ``source`` for ``context`` (a RenderContext), `git init` it with one commit (and
    `origin` set when the project has a repository URL), and read the result back. Raises TemplateError."""
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.main import cookiecutter

    work = Path(tempfile.mkdtemp(prefix="dsw-project-"))
    try:
        if is_git_url(source):
            clone = _git("clone", "--quiet", "--depth", "1", source, str(work / "template"), cwd=str(work))
            if clone.returncode != 0:
                raise TemplateError(f"Cloning the template {template_name} failed: {clone.stderr.strip()[-200:]}")
            source = str(work / "template")
        extra = {"project_name": context.name, "project_slug": context.slug, "description": context.description,
                 "team": context.team, "repository_url": context.repository_url, "board_url": context.board_url,
                 "author_name": context.author_name, "author_email": context.author_email,
                 "stage_checklist": stage_checklist(), "stage_labels": ",".join(stage.value for stage in STAGES)}
        try:
            rendered = Path(cookiecutter(source, no_input=True, extra_context=extra, output_dir=str(work / "out"),
                                         accept_hooks=False, default_config=True))
        except (CookiecutterException, OSError, ValueError) as exc:
            raise TemplateError(f"Rendering the template {template_name} failed: {exc}") from exc
        commit = _commit(rendered, context, template_name)
        return _read_tree(rendered, commit)
    except subprocess.TimeoutExpired as exc:
        raise TemplateError(f"git took longer than {GIT_TIMEOUT} s on the template {template_name}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _commit(folder, context, template_name):
    cwd = str(folder)
    author = {"GIT_AUTHOR_NAME": context.author_name or "Workspaces platform",
              "GIT_AUTHOR_EMAIL": context.author_email or "platform@localhost",
              "GIT_COMMITTER_NAME": "Workspaces platform", "GIT_COMMITTER_EMAIL": "platform@localhost"}
    steps = [
        ("init", "--quiet", "--initial-branch=main", "--template=", "."),
        # nbstripout as the notebooks' clean filter (.gitattributes names it): outputs never reach a commit.
        ("config", "filter.nbstripout.clean", "nbstripout"),
        ("config", "filter.nbstripout.smudge", "cat"),
        ("config", "diff.ipynb.textconv", "nbstripout -t"),
        ("add", "--all"),
        ("commit", "--quiet", "--no-verify", "-m", f"Project files from the {template_name} template"),
    ]
    if context.repository_url:
        steps.append(("remote", "add", "origin", context.repository_url))
    steps.append(("gc", "--quiet", "--aggressive", "--prune=now"))
    for step in steps:
        result = _git(*step, cwd=cwd, env=author)
        if result.returncode != 0:
            raise TemplateError(f"git {step[0]} failed on the template {template_name}: {result.stderr.strip()[-200:]}")
    return _git("rev-parse", "HEAD", cwd=cwd).stdout.strip()


def _read_tree(folder, commit):
    directories, files, total = [], {}, 0
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        relative_root = Path(root).relative_to(folder)
        directories.extend(str(relative_root / name) for name in dirs)
        for name in sorted(names):
            path = Path(root) / name
            if path.is_symlink():
                raise TemplateError(f"The template holds a symbolic link ({relative_root / name}); templates hold files.")
            data = path.read_bytes()
            total += len(data)
            if total > MAX_TOTAL_BYTES:
                raise TemplateError(f"The rendered template is larger than {MAX_TOTAL_BYTES // 2**20} MiB.")
            files[str(relative_root / name)] = data
    return ProjectFiles(folder=folder.name, directories=directories, files=files, commit=commit)
