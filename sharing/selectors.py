"""Who sees which shared notebook, and in which role. A notebook someone may not see does not exist for them
(404), whatever its id."""

from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django.utils import timezone

from portal.accounts.models import Membership
from sharing.models import Grant, LiveShare, NotebookVersion, Role, SharedNotebook, VersionFile

RANK = {"": 0, Role.VIEW: 1, Role.COPY: 2, "owner": 3}


def _granted_q(user):
    my_teams = Membership.objects.filter(user=user).values("team_id")
    return Exists(Grant.objects.filter(Q(user=user) | Q(team_id__in=my_teams), notebook=OuterRef("pk")))


def notebook_list_visible(*, user):
    """Notebooks the user owns or that are shared with them (in person, through a team, or with everyone)."""
    return (SharedNotebook.objects.filter(Q(owner=user) | ~Q(everyone_role="") | _granted_q(user))
            .select_related("owner").order_by("-created"))


def notebook_list_shared_with(*, user):
    """Shared with the user by someone else, with at least one version to look at."""
    return (notebook_list_visible(user=user).exclude(owner=user)
            .filter(Exists(NotebookVersion.objects.filter(notebook=OuterRef("pk")))))


def notebook_role(*, user, notebook):
    """"owner", "copy", "view" or "" (none) for this user."""
    if notebook.owner_id == user.pk:
        return "owner"
    my_teams = Membership.objects.filter(user=user).values("team_id")
    roles = [notebook.everyone_role, *Grant.objects.filter(Q(user=user) | Q(team_id__in=my_teams), notebook=notebook)
             .values_list("role", flat=True)]
    return max(roles, key=lambda role: RANK[role])


def notebook_get_for(*, user, pk, at_least=Role.VIEW):
    """The notebook and the user's role in it; 404 when they may not see it. ``at_least="owner"``: owner only
    (anyone else who sees it gets 404 too: what they may not change looks absent rather than forbidden)."""
    notebook = SharedNotebook.objects.select_related("owner").filter(pk=pk).first()
    role = notebook_role(user=user, notebook=notebook) if notebook is not None else ""
    if RANK[role] < RANK[at_least]:
        raise Http404("No such shared notebook.")
    return notebook, role


def version_get(*, notebook, number=None):
    """Version ``number`` (None: the latest) of the notebook; 404 when it has none such."""
    versions = notebook.versions.all()
    version = versions.filter(number=number).first() if number is not None else versions.order_by("-number").first()
    if version is None:
        raise Http404("No such version.")
    return version


def version_get_for(*, user, pk, number):
    """Version ``number`` of notebook ``pk`` if the user may see it (one query for both, the role's own after it:
    the rendered page is the most requested); 404 otherwise, as notebook_get_for and version_get say."""
    version = NotebookVersion.objects.select_related("notebook").filter(notebook_id=pk, number=number).first()
    if version is None:
        notebook_get_for(user=user, pk=pk)  # the same 404 whether the notebook or only the version is missing
        raise Http404("No such version.")
    if RANK[notebook_role(user=user, notebook=version.notebook)] < RANK[Role.VIEW]:
        raise Http404("No such shared notebook.")
    return version


def version_file_get(*, version, path):
    """The file attached to ``version`` at ``path``; 404 when there is none."""
    version_file = VersionFile.objects.filter(version=version, path=str(path)[:500]).first()
    if version_file is None:
        raise Http404("No such attached file.")
    return version_file


def live_shares_active(*, now=None):
    now = now or timezone.now()
    return (LiveShare.objects.filter(revoked__isnull=True).exclude(expires__lte=now)
            .exclude(workspace__desired_state="deleted").select_related("workspace", "workspace__owner", "user"))


def live_shares_for_grantee(*, user):
    return live_shares_active().filter(user=user).order_by("-created")


def live_shares_of_owner(*, user):
    return live_shares_active().filter(workspace__owner=user).order_by("-created")
