"""Every rule and write about sharing: keyword-only functions that raise ValidationError naming the field at
fault, with an audit event in the transaction of each change.

Publishing reads the owner's running workspace through its single-user server's contents API, with a hub token
the portal mints for that one server and revokes at once (workspace code is hostile: the portal's own token never
goes there). The request checks what it can at once (the path, that the file exists, is a notebook and is under
the size limit) so that mistakes are a 400 naming `path`; Celery then takes the snapshot (sharing.tasks).
"""

import base64
import binascii
import hashlib
import logging
import posixpath
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import Membership, Team
from portal.accounts.tasks import email_send_task
from portal.audit.services import audit_record
from sharing import blobs
from sharing.models import Grant, NotebookVersion, Role, SecretLink, SharedNotebook, Snapshot, VersionFile
from sharing.render import NotANotebook, notebook_parse, notebook_render
from sharing.selectors import RANK
from workspaces.hub import HubError, hub_client
from workspaces.models import Workspace
from workspaces.server_files import home_relative_folder, running_workspace as _workspace_running, server_access

logger = logging.getLogger(__name__)


def _mib(size):
    return f"{size / 2**20:.1f} MiB"


def path_clean(path):
    """A notebook path relative to the workspace's home, normalised; ValidationError on `path` otherwise. Paths
    that leave the home (absolute, `..`) are refused here rather than left to the server."""
    path = str(path or "").strip()
    if not path:
        raise ValidationError({"path": "Name the notebook, relative to the workspace's home (e.g. analysis/churn.ipynb)."})
    if "\x00" in path or "\\" in path or len(path) > 500:
        raise ValidationError({"path": "That is not a usable path."})
    if path.startswith(("/", "~")) or ".." in path.split("/"):
        raise ValidationError({"path": "The path must stay inside the workspace's home: no leading / or ~, no `..`."})
    path = posixpath.normpath(path)
    if not path.endswith(".ipynb"):
        raise ValidationError({"path": "Only notebooks (.ipynb files) can be shared."})
    return path


def attachments_clean(notebook_path, attachments):
    """The files to publish with a notebook, as paths relative to its folder (so the notebook's own relative
    reads, `pd.read_csv("data/sales.csv")`, work in a copy too), normalised and each once. A list, or text with one
    path per line (the publish form). ValidationError on `attachments`."""
    if isinstance(attachments, str):
        attachments = attachments.splitlines()
    attachments = [str(item).strip() for item in attachments or [] if str(item).strip()]
    limit = settings.PLATFORM_SHARING_ATTACHMENTS_MAX_FILES
    if len(attachments) > limit:
        raise ValidationError({"attachments": f"At most {limit} files can be attached to a notebook."})
    cleaned = []
    for item in attachments:
        if "\x00" in item or "\\" in item or len(item) > 400:
            raise ValidationError({"attachments": f"Not a usable path: {item[:100]}."})
        if item.startswith(("/", "~")) or ".." in item.split("/"):
            raise ValidationError({"attachments": f"{item}: attached files must be in the notebook's folder or below "
                                                  "it (a path relative to the notebook, no leading / or ~, no `..`)."})
        item = posixpath.normpath(item)
        if item == posixpath.basename(notebook_path):
            raise ValidationError({"attachments": f"{item} is the notebook itself."})
        if item not in cleaned:
            cleaned.append(item)
    return cleaned


def _attachment_home_path(notebook_path, attachment):
    return posixpath.join(posixpath.dirname(notebook_path), attachment)


def _check_attachments(hub, url, token, notebook_path, attachments):
    """Each attached file exists, is a file, and together they are under the limit; ValidationError otherwise."""
    total, limit = 0, settings.PLATFORM_SHARING_ATTACHMENTS_MAX_BYTES
    for attachment in attachments:
        model = hub.server_contents_model(url, _attachment_home_path(notebook_path, attachment), token=token)
        if model is None:
            raise ValidationError({"attachments": f"There is no file {attachment} next to the notebook."})
        if model.get("type") == "directory":
            raise ValidationError({"attachments": f"{attachment} is a folder: attach the files in it."})
        total += model.get("size") or 0
        if total > limit:
            raise ValidationError({"attachments": f"Attached files may take {_mib(limit)} together; these take more."})


def _server(workspace, hub):
    return server_access(workspace, hub, note="sharing")


def _check_model(model, path):
    limit = settings.PLATFORM_SHARING_MAX_BYTES
    if model is None:
        raise ValidationError({"path": f"There is no file {path} in that workspace."})
    if model.get("type") == "directory":
        raise ValidationError({"path": f"{path} is a folder, not a notebook."})
    size = model.get("size")
    if isinstance(size, int) and size > limit:
        raise ValidationError({"path": f"{path} is {_mib(size)}; notebooks up to {_mib(limit)} can be shared."})


def workspace_files(*, actor, workspace_id, directory="", hub=None):
    """The file picker: folders and notebooks in ``directory`` of the actor's running workspace, as
    [{"name", "path", "type": "directory"|"notebook", "size"}]."""
    directory = home_relative_folder(directory, field="path", message="The folder must stay inside the workspace's home.")
    workspace = _workspace_running(actor=actor, workspace_id=workspace_id)
    hub = hub or hub_client()
    try:
        with _server(workspace, hub) as (url, token):
            body = hub.server_contents_model(url, directory, token=token, folder=True)
    except HubError as exc:
        raise ValidationError({"workspace": f"The workspace did not answer ({exc}); try again."}) from None
    if body is None or body.get("type") != "directory":
        raise ValidationError({"path": f"There is no folder {directory or '~'} in that workspace."})
    entries = [{"name": item["name"], "path": item["path"], "type": item["type"], "size": item.get("size")}
               for item in body.get("content") or [] if item.get("type") in ("directory", "notebook")
               and not item["name"].startswith(".")]
    return sorted(entries, key=lambda item: (item["type"] != "directory", item["name"].lower()))


def notebook_publish(*, actor, workspace_id, path, message="", title="", attachments=(), hub=None, request=None):
    """Queue a snapshot of ``path`` in the actor's running workspace as the next version of their shared notebook
    for that path (made on first publish), with the small files ``attachments`` names (relative to the notebook's
    folder). Returns the Snapshot; Celery takes it."""
    path = path_clean(path)
    attachments = attachments_clean(path, attachments)
    workspace = _workspace_running(actor=actor, workspace_id=workspace_id)
    hub = hub or hub_client()
    try:
        with _server(workspace, hub) as (url, token):
            model = hub.server_contents_model(url, path, token=token)
            _check_model(model, path)
            if model.get("type") != "notebook":
                raise ValidationError({"path": f"{path} is not a notebook."})
            _check_attachments(hub, url, token, path, attachments)
    except HubError as exc:
        raise ValidationError({"workspace": f"The workspace did not answer ({exc}); try again."}) from None
    with transaction.atomic():
        notebook, created = SharedNotebook.objects.get_or_create(
            owner=actor, path=path, defaults={"title": (title or posixpath.basename(path)[:-6])[:200]})
        if title and not created:
            notebook.title = title[:200]
            notebook.save(update_fields=["title"])
        snapshot = Snapshot.objects.create(notebook=notebook, workspace=workspace, author=actor, message=(message or "")[:500],
                                           attachments=attachments)
        audit_record(action="sharing.publish", actor=actor, request=request, target=notebook,
                     data={"path": path, "workspace": workspace.name, "snapshot": snapshot.pk, "attachments": attachments})
        _queue_snapshot(snapshot)
    return snapshot


def _queue_snapshot(snapshot):
    from sharing.tasks import snapshot_take_task

    snapshot_take_task.delay_on_commit(snapshot.pk)


def snapshot_retry(*, actor, snapshot, request=None):
    """Queue a failed snapshot again (its author only). Idempotent for one that is queued or done."""
    with transaction.atomic():
        snapshot = Snapshot.objects.select_for_update().get(pk=snapshot.pk)
        if snapshot.state == Snapshot.State.FAILED:
            snapshot.state, snapshot.error, snapshot.finished = Snapshot.State.QUEUED, "", None
            snapshot.save(update_fields=["state", "error", "finished"])
            audit_record(action="sharing.retry", actor=actor, request=request, target=snapshot.notebook,
                         data={"snapshot": snapshot.pk})
            _queue_snapshot(snapshot)
    return snapshot


def _snapshot_fail(snapshot_id, message):
    Snapshot.objects.filter(pk=snapshot_id, state=Snapshot.State.QUEUED).update(
        state=Snapshot.State.FAILED, error=message[:500], finished=timezone.now())


def snapshot_take(*, snapshot_id, hub=None):
    """Read the notebook, store it and its rendering (content-addressed), then record the next version, all or
    nothing: the version row is written last, in one transaction with the snapshot's state, so a failure at any
    step leaves no version (stored blobs without one are harmless: same bytes, same key). Idempotent."""
    snapshot = Snapshot.objects.select_related("notebook", "workspace", "workspace__owner").filter(pk=snapshot_id).first()
    if snapshot is None or snapshot.state != Snapshot.State.QUEUED:
        return None
    workspace, path = snapshot.workspace, snapshot.notebook.path
    if workspace is None or workspace.desired_state != Workspace.Desired.RUNNING:
        _snapshot_fail(snapshot_id, "The workspace is gone or stopped: start it and retry.")
        return None
    hub = hub or hub_client()
    try:
        with _server(workspace, hub) as (url, token):
            model = hub.server_contents_model(url, path, token=token, content=True)
            _check_model(model, path)
            attached = _attachments_read(hub, url, token, path, snapshot.attachments)
        raw = (model.get("content") or "").encode("utf-8")
        if len(raw) > settings.PLATFORM_SHARING_MAX_BYTES:
            raise ValidationError({"path": f"{path} is {_mib(len(raw))}; the limit is {_mib(settings.PLATFORM_SHARING_MAX_BYTES)}."})
        html = notebook_render(notebook_parse(raw))
        sha, html_sha = blobs.digest(raw), blobs.digest(html)
        blobs.blob_put(blobs.notebook_key(sha), raw)
        blobs.blob_put(blobs.html_key(html_sha), html)
        for attachment in attached:
            blobs.blob_put(blobs.file_key(attachment["sha256"]), attachment.pop("data"))
    except ValidationError as exc:
        _snapshot_fail(snapshot_id, "; ".join(exc.messages))
        return None
    except NotANotebook as exc:
        _snapshot_fail(snapshot_id, f"{path}: {exc}")
        return None
    except HubError as exc:
        _snapshot_fail(snapshot_id, f"The workspace did not answer: {exc}")
        return None
    except Exception:
        logger.exception("Snapshot %s failed", snapshot_id)
        _snapshot_fail(snapshot_id, f"Something went wrong on our side (reference snapshot-{snapshot_id}); retry.")
        return None
    with transaction.atomic():
        notebook = SharedNotebook.objects.select_for_update().get(pk=snapshot.notebook_id)
        snapshot = Snapshot.objects.select_for_update().get(pk=snapshot_id)
        if snapshot.state != Snapshot.State.QUEUED:
            return None
        number = (notebook.versions.aggregate(top=Max("number"))["top"] or 0) + 1
        version = NotebookVersion.objects.create(
            notebook=notebook, number=number, sha256=sha, html_sha256=html_sha, size=len(raw), author=snapshot.author,
            author_username=snapshot.author.get_username(), message=snapshot.message, workspace_name=workspace.name)
        VersionFile.objects.bulk_create(VersionFile(version=version, **attachment) for attachment in attached)
        snapshot.state, snapshot.version, snapshot.finished = Snapshot.State.DONE, version, timezone.now()
        snapshot.save(update_fields=["state", "version", "finished"])
        audit_record(action="sharing.version", actor=snapshot.author, target=notebook,
                     data={"version": number, "sha256": sha})
    return version


def _attachments_read(hub, url, token, notebook_path, attachments):
    """[{"path", "sha256", "size", "data"}] of the attached files as they are now; ValidationError on `attachments`
    when one went missing or they grew past the limit since the publish request."""
    read, total, limit = [], 0, settings.PLATFORM_SHARING_ATTACHMENTS_MAX_BYTES
    for attachment in attachments:
        model = hub.server_contents_model(url, _attachment_home_path(notebook_path, attachment), token=token, binary=True)
        if model is None or model.get("type") == "directory":
            raise ValidationError({"attachments": f"The attached file {attachment} is gone."})
        try:
            # jupyter_server's base64 is broken into lines (base64.encodebytes).
            data = base64.b64decode("".join((model.get("content") or "").split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError({"attachments": f"The workspace sent {attachment} garbled."}) from None
        total += len(data)
        if total > limit:
            raise ValidationError({"attachments": f"Attached files may take {_mib(limit)} together; these take more now."})
        read.append({"path": attachment, "sha256": blobs.digest(data), "size": len(data), "data": data})
    return read


def version_notebook_bytes(version):
    data = blobs.blob_get(blobs.notebook_key(version.sha256))
    if data is None:
        raise Http404("This version's file is missing from storage.")
    return data


def version_file_bytes(version_file):
    data = blobs.blob_get(blobs.file_key(version_file.sha256))
    if data is None:
        raise Http404("This attached file is missing from storage.")
    return data


def version_html_path(version):
    path = blobs.blob_local_path(blobs.html_key(version.html_sha256))
    if path is None:
        raise Http404("This version's rendering is missing from storage.")
    return path


# --- audiences ---------------------------------------------------------------------------------------------

def _shares_a_team(actor, user):
    return Membership.objects.filter(user=user, team__memberships__user=actor).exists()


def _beyond_teams_allowed(actor):
    return settings.PLATFORM_SHARING_BEYOND_TEAMS or actor.is_platform_admin


def _recipient(*, actor, username=None, team=None):
    """(user, team) named by a grant; ValidationError on `username` / `team` when unknown or outside the policy."""
    if bool(username) == bool(team):
        raise ValidationError({"username": "Name one person (username) or one team (team), not both."})
    if username:
        user = get_user_model().objects.filter(username=str(username), is_active=True).first()
        if user is None or (not _beyond_teams_allowed(actor) and not _shares_a_team(actor, user)):
            raise ValidationError({"username": f"No such person in your teams: {str(username)[:150]}."})
        if user == actor:
            raise ValidationError({"username": "You own it already."})
        return user, None
    found = Team.objects.filter(slug=str(team)).first()
    if found is None or (not _beyond_teams_allowed(actor) and not Membership.objects.filter(team=found, user=actor).exists()):
        raise ValidationError({"team": f"No such team of yours: {str(team)[:100]}."})
    return None, found


def _role(role):
    if role not in Role.values:
        raise ValidationError({"role": f"One of: {', '.join(Role.values)}."})
    return role


def _mail_shared(notebook, emails, actor):
    emails = sorted({address for address in emails if address})
    if not emails:
        return
    url = settings.PLATFORM_PUBLIC_URL.rstrip("/") + reverse("sharing_notebook", args=[notebook.pk])
    body = (f"{actor.get_full_name() or actor.get_username()} shared the notebook \"{notebook.title}\" with you.\n\n"
            f"Open it: {url}\n\nIt is also under Shared with me in the portal.\n")
    email_send_task.delay_on_commit(subject=f"{actor.get_username()} shared \"{notebook.title}\" with you", body=body, to=emails)


def grant_add(*, actor, notebook, username=None, team=None, role=Role.VIEW, request=None):
    """Share ``notebook`` (the actor's) with a person or a team; recipients get an e-mail. Sharing again with the
    same recipient changes the role."""
    user, team = _recipient(actor=actor, username=username, team=team)
    role = _role(role)
    with transaction.atomic():
        grant, created = Grant.objects.update_or_create(notebook=notebook, user=user, team=team, defaults={"role": role})
        audit_record(action="sharing.grant" if created else "sharing.grant_change", actor=actor, request=request,
                     target=notebook, data={"username": user.username if user else None,
                                            "team": team.slug if team else None, "role": role})
        if created:
            emails = [user.email] if user else list(team.memberships.exclude(user=actor).values_list("user__email", flat=True))
            _mail_shared(notebook, emails, actor)
    return grant


def grant_change(*, actor, grant, role, request=None):
    grant.role = _role(role)
    with transaction.atomic():
        grant.save(update_fields=["role"])
        audit_record(action="sharing.grant_change", actor=actor, request=request, target=grant.notebook,
                     data={"grant": grant.pk, "role": grant.role})
    return grant


def grant_remove(*, actor, grant, request=None):
    """Revoke: the next request of that recipient is refused."""
    with transaction.atomic():
        audit_record(action="sharing.grant_revoke", actor=actor, request=request, target=grant.notebook,
                     data={"username": grant.user.username if grant.user else None,
                           "team": grant.team.slug if grant.team else None})
        grant.delete()


def notebook_update(*, actor, notebook, title=None, everyone_role=None, request=None):
    fields = []
    if title is not None:
        if not str(title).strip():
            raise ValidationError({"title": "Give it a title."})
        notebook.title, fields = str(title).strip()[:200], [*fields, "title"]
    if everyone_role is not None:
        if everyone_role not in ("", *Role.values):
            raise ValidationError({"everyone_role": f"Empty (not shared with everyone) or one of: {', '.join(Role.values)}."})
        notebook.everyone_role, fields = everyone_role, [*fields, "everyone_role"]
    with transaction.atomic():
        notebook.save(update_fields=fields)
        audit_record(action="sharing.update", actor=actor, request=request, target=notebook,
                     data={"title": notebook.title, "everyone_role": notebook.everyone_role})
    return notebook


def notebook_delete(*, actor, notebook, request=None):
    """Unpublish: every version, grant and link goes (the stored blobs stay: others may share their bytes)."""
    with transaction.atomic():
        audit_record(action="sharing.delete", actor=actor, request=request, target=notebook, data={"path": notebook.path})
        notebook.delete()


# --- secret links ------------------------------------------------------------------------------------------

def _token_hash(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def link_create(*, actor, notebook, expires_in_days=None, request=None):
    """A new secret link; returns (link, token). The token (256 random bits) is shown once; only its hash is kept."""
    if expires_in_days is not None and not (isinstance(expires_in_days, int) and 1 <= expires_in_days <= 365):
        raise ValidationError({"expires_in_days": "A whole number of days from 1 to 365, or none for a link that does not expire."})
    token = secrets.token_urlsafe(32)
    expires = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    with transaction.atomic():
        link = SecretLink.objects.create(notebook=notebook, token_sha256=_token_hash(token), expires=expires)
        audit_record(action="sharing.link_create", actor=actor, request=request, target=notebook,
                     data={"link": link.pk, "expires": expires.isoformat() if expires else None})
    return link, token


def link_revoke(*, actor, link, request=None):
    with transaction.atomic():
        if link.revoked is None:
            link.revoked = timezone.now()
            link.save(update_fields=["revoked"])
            audit_record(action="sharing.link_revoke", actor=actor, request=request, target=link.notebook, data={"link": link.pk})
    return link


class LinkGone(Exception):
    """A link that existed but no longer opens anything (410, with the reason)."""


def link_resolve(token, *, now=None):
    """The notebook a secret link opens; Http404 for an unknown token, LinkGone for a revoked or expired one."""
    link = SecretLink.objects.select_related("notebook", "notebook__owner").filter(
        token_sha256=_token_hash(str(token))).first()
    if link is None:
        raise Http404("No such link.")
    if link.revoked is not None:
        raise LinkGone("This link was revoked by the notebook's owner.")
    if link.expires is not None and link.expires <= (now or timezone.now()):
        raise LinkGone(f"This link expired on {link.expires:%Y-%m-%d %H:%M} UTC.")
    return link.notebook


# --- open a copy -------------------------------------------------------------------------------------------

COPY_NAME_TRIES = 100


def copy_request(*, actor, notebook, role, version, workspace_id, request=None):
    """Queue writing ``version`` into the actor's running workspace (people with `copy`, and the owner)."""
    from sharing.models import NotebookCopy

    if RANK[role] < RANK[Role.COPY]:
        raise ValidationError({"notebook": "You may view this notebook but not copy it: ask its owner for `copy`."})
    workspace = _workspace_running(actor=actor, workspace_id=workspace_id)
    with transaction.atomic():
        copy = NotebookCopy.objects.create(version=version, workspace=workspace, actor=actor)
        audit_record(action="sharing.copy", actor=actor, request=request, target=notebook,
                     data={"version": version.number, "workspace": workspace.name})
        from sharing.tasks import copy_write_task

        copy_write_task.delay_on_commit(copy.pk)
    return copy


def copy_name(path, taken, *, folder=False):
    """The first of `name.ipynb`, `name (copy 1).ipynb`, … (with ``folder``: `name`, `name (copy 1)`, …) for which
    ``taken(name)`` is false."""
    stem, suffix = posixpath.basename(path)[:-6], "" if folder else ".ipynb"
    for number in range(COPY_NAME_TRIES):
        candidate = f"{stem}{suffix}" if number == 0 else f"{stem} (copy {number}){suffix}"
        if not taken(candidate):
            return candidate
    raise ValidationError({"path": f"{COPY_NAME_TRIES} copies of {stem} are in that workspace already: tidy up first."})


def _copy_plan(notebook_path, data, attached, taken):
    """(notebook path, folders to make, {path: bytes}) of a copy. A notebook alone goes into the home under a free
    name; one with attached files goes, with them at the same places relative to it, into a new folder under a
    free name (so its relative reads work and nothing of the recipient's is overwritten)."""
    if not attached:
        name = copy_name(notebook_path, taken)
        return name, [], {name: data}
    folder = copy_name(notebook_path, taken, folder=True)
    name = f"{folder}/{posixpath.basename(notebook_path)}"
    folders = {folder}
    for attachment in attached:
        parts = attachment.split("/")[:-1]
        folders.update(f"{folder}/{'/'.join(parts[:depth])}" for depth in range(1, len(parts) + 1))
    files = {name: data, **{f"{folder}/{attachment}": content for attachment, content in attached.items()}}
    return name, sorted(folders, key=lambda item: (item.count("/"), item)), files


def copy_write(*, copy_id, hub=None):
    """Write the copy under a free name in the workspace's home. Idempotent: a finished copy is not written again.
    Between the name check and the write the workspace's owner could make that file; the contents API would then
    overwrite it, a window of milliseconds in the recipient's own workspace that we accept."""
    from sharing.models import NotebookCopy

    copy = NotebookCopy.objects.select_related("version", "version__notebook", "workspace", "workspace__owner").filter(
        pk=copy_id).first()
    if copy is None or copy.state != NotebookCopy.State.QUEUED:
        return None
    hub = hub or hub_client()
    try:
        data = version_notebook_bytes(copy.version)
        attached = {item.path: version_file_bytes(item) for item in copy.version.files.all()}
        with _server(copy.workspace, hub) as (url, token):
            name, folders, files = _copy_plan(copy.version.notebook.path, data, attached,
                                              lambda candidate: hub.server_contents_exists(url, candidate, token=token))
            hub.server_contents_write(url, directories=folders, files=files, token=token)
    except (HubError, ValidationError, Http404) as exc:
        message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        NotebookCopy.objects.filter(pk=copy_id).update(state=NotebookCopy.State.FAILED, error=message[:500])
        return None
    NotebookCopy.objects.filter(pk=copy_id).update(state=NotebookCopy.State.DONE, path=name)
    return name
