"""Who may push and pull which registry repository.

Namespaces: ``platform/…`` is pushed by platform admins and CI robots and pulled by every active
user; ``teams/<team>/…`` is pushed by that team's admins and pulled by its members;
``users/<name>/…`` belongs to that user alone. Robots get exactly what their scopes name.
"""

import fnmatch
import re

from portal.accounts.models import Membership, Team, User

from images.models import RobotAccount

REPOSITORY_NAME = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
ACTIONS = ("pull", "push")


def namespace_of(name):
    """(namespace, team slug or username or None) for a repository name."""
    parts = name.split("/")
    if parts[0] == "platform" and len(parts) >= 2:
        return "platform", None
    if parts[0] == "teams" and len(parts) >= 3:
        return "team", parts[1]
    if parts[0] == "users" and len(parts) >= 3:
        return "user", parts[1]
    return "other", None


def repository_actions(principal, name):
    """The subset of ("pull", "push") that `principal` (a User or RobotAccount) may do on repository `name`."""
    if not REPOSITORY_NAME.match(name):
        return set()
    if isinstance(principal, RobotAccount):
        if not principal.usable:
            return set()
        allowed = set()
        for scope in principal.scopes:
            if fnmatch.fnmatchcase(name, scope.get("repository", "")):
                allowed |= set(scope.get("actions", ())) & set(ACTIONS)
        return allowed
    if not isinstance(principal, User) or not principal.is_active:
        return set()
    namespace, owner = namespace_of(name)
    if principal.is_platform_admin:
        return {"pull", "push"} if namespace in ("platform", "team", "user") else set()
    if namespace == "platform":
        return {"pull"}
    if namespace == "user":
        return {"pull", "push"} if owner == principal.username else set()
    if namespace == "team":
        role = Membership.objects.filter(user=principal, team__slug=owner).values_list("role", flat=True).first()
        if role == Membership.Role.ADMIN:
            return {"pull", "push"}
        return {"pull"} if role else set()
    return set()


def parse_scope(scope):
    """``repository:platform/python:pull,push`` → ("repository", "platform/python", ["pull", "push"]) or None."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name:
        return None
    return kind, name, [action for action in actions.split(",") if action]


def granted_access(principal, scopes):
    """The token's ``access`` claim: for each requested scope, the actions the principal really has."""
    access = []
    for scope in scopes:
        parsed = parse_scope(scope)
        if parsed is None:
            continue
        kind, name, requested = parsed
        if kind == "repository":
            allowed = repository_actions(principal, name)
            actions = [action for action in requested if action in allowed]
        elif kind == "registry" and name == "catalog":
            actions = ["*"] if isinstance(principal, User) and principal.is_platform_admin and "*" in requested else []
        else:
            actions = []
        access.append({"type": kind, "name": name, "actions": actions})
    return access


def repository_owner_fields(name):
    """Model fields tying a repository to its team or user, from its name."""
    namespace, owner = namespace_of(name)
    if namespace == "team":
        return {"namespace": namespace, "team": Team.objects.filter(slug=owner).first(), "owner": None}
    if namespace == "user":
        return {"namespace": namespace, "team": None, "owner": User.objects.filter(username=owner).first()}
    return {"namespace": namespace, "team": None, "owner": None}
