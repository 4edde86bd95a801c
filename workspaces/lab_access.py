"""The lab's own way to the portal: a grant for one run of one workspace.

The lab extension inside JupyterLab shows the portal's stop warnings and offers "keep running". With
per-user subdomains the lab is on another origin than the portal, and must be: so it never rides on the
person's portal session (no cookie goes there, and none should). Instead, each launch hands the server a
signed grant for that workspace and that run (its generation); the lab sends it as
`Authorization: Lab <grant>` to two endpoints, which answer it from the workspace's own origin (CORS)
and do nothing else. A grant is worth no more than what the workspace's own code could see anyway, and a
restart makes the last one useless.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core import signing
from rest_framework import authentication, exceptions

from portal.accounts.permissions import TokenScopes
from workspaces.models import Workspace

SALT = "workspaces.lab-grant"
KEYWORD = "Lab"


@dataclass(frozen=True)
class LabGrant:
    workspace_id: int
    generation: int


def lab_grant_for(workspace):
    """The grant the launch spec gives this run of `workspace` (signed with the platform's secret key)."""
    return signing.dumps({"w": workspace.pk, "g": workspace.generation}, salt=SALT)


def lab_origin(workspace):
    """The origin the workspace's lab runs on (scheme://host[:port])."""
    parts = urlsplit(workspace.lab_url)
    return f"{parts.scheme}://{parts.netloc}"


class LabGrantAuthentication(authentication.BaseAuthentication):
    """``Authorization: Lab <grant>``: the workspace's owner, for that workspace's current run only."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        try:
            data = signing.loads(header[1].decode() if len(header) == 2 else "", salt=SALT)
            grant = LabGrant(workspace_id=int(data["w"]), generation=int(data["g"]))
        except (signing.BadSignature, KeyError, TypeError, ValueError, UnicodeDecodeError):
            raise exceptions.AuthenticationFailed("Not a valid lab grant.") from None
        workspace = Workspace.objects.select_related("owner").filter(pk=grant.workspace_id, generation=grant.generation).first()
        if workspace is None or not workspace.owner.is_active:
            raise exceptions.AuthenticationFailed("This lab grant is for a run that is over.")
        request.lab_workspace = workspace
        return workspace.owner, grant

    def authenticate_header(self, request):
        return KEYWORD


class LabGrantForThisWorkspace(TokenScopes):
    """Only a grant for the workspace in the path; CORS preflights (no credentials) pass to be answered."""

    message = "This lab grant is for another workspace."

    def has_permission(self, request, view):
        if request.method == "OPTIONS":
            return True
        grant = request.auth
        return isinstance(grant, LabGrant) and grant.workspace_id == view.kwargs.get("pk")
