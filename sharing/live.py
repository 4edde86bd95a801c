"""Live sharing of a running workspace: the hub's own shares API grants a person access to the owner's server
(JupyterHub checks it on every request through the proxy), the portal keeps who was granted what and until when.

Rules: only the workspace's owner shares it; with people of their own teams (or a whole team of theirs, which
grants each member at that moment) unless PLATFORM_SHARING_BEYOND_TEAMS or the owner is a platform admin. Revoke
ends access at once (the hub drops the share; the grantee's next request through the proxy is refused). Deleting
the workspace removes its server from the hub, and the hub deletes the server's shares with it.
"""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from portal.audit.services import audit_record
from sharing.models import LiveShare
from sharing.selectors import live_shares_active
from sharing.services import _beyond_teams_allowed, _recipient, _workspace_running
from workspaces.hub import HubError, hub_client

logger = logging.getLogger(__name__)


def live_share_grant(*, actor, workspace_id, username=None, team=None, expires=None, hub=None, request=None):
    """Share the actor's running workspace with a person or each member of a team, optionally until ``expires``.
    Returns the LiveShare rows. Granting again renews (the new expiry replaces the old one)."""
    workspace = _workspace_running(actor=actor, workspace_id=workspace_id)
    user, team = _recipient(actor=actor, username=username, team=team)
    if expires is not None and expires <= timezone.now():
        raise ValidationError({"expires": "Give a time in the future, or none."})
    people = [user] if user else [membership.user for membership in team.memberships.select_related("user")
                                  .filter(user__is_active=True).exclude(user=actor)]
    if not people:
        raise ValidationError({"team": "That team has nobody else in it."})
    hub = hub or hub_client()
    owner = actor.get_username()
    try:
        for person in people:
            hub.ensure_user(person.get_username())  # the hub knows people once they signed in there
            hub.server_share_grant(owner, workspace.server_name, to_user=person.get_username())
    except HubError as exc:
        raise ValidationError({"workspace": f"The hub did not take the share: {exc}"}) from None
    shares = []
    with transaction.atomic():
        for person in people:
            share = LiveShare.objects.filter(workspace=workspace, user=person, revoked__isnull=True).first()
            if share is None:
                share = LiveShare.objects.create(workspace=workspace, user=person, team=team, expires=expires)
            else:
                share.expires, share.team = expires, team or share.team
                share.save(update_fields=["expires", "team"])
            shares.append(share)
        audit_record(action="sharing.live_grant", actor=actor, request=request, target=workspace,
                     data={"people": [person.get_username() for person in people], "team": team.slug if team else None,
                           "expires": expires.isoformat() if expires else None,
                           "beyond_teams": _beyond_teams_allowed(actor)})
    return shares


def live_share_revoke(*, actor, share, hub=None, request=None, reason="revoked"):
    """End a live share: the hub first (access ends there), then our record. Idempotent."""
    hub = hub or hub_client()
    workspace = share.workspace
    try:
        hub.server_share_revoke(workspace.owner.get_username(), workspace.server_name, to_user=share.user.get_username())
    except HubError as exc:
        raise ValidationError({"share": f"The hub did not end the share: {exc}; try again."}) from None
    with transaction.atomic():
        if LiveShare.objects.filter(pk=share.pk, revoked__isnull=True).update(revoked=timezone.now()):
            audit_record(action=f"sharing.live_{reason}", actor=actor, request=request, target=workspace,
                         data={"username": share.user.get_username(), "share": share.pk})
    return share


def live_share_get_for_owner(*, user, pk):
    from django.http import Http404

    share = live_shares_active().filter(pk=pk, workspace__owner=user).first() if isinstance(pk, int) else None
    if share is None:
        raise Http404("No such live share.")
    return share


def live_shares_expire(*, hub=None):
    """End every live share past its date (Beat, every minute). Returns how many ended."""
    hub = hub or hub_client()
    ended = 0
    for share in LiveShare.objects.filter(revoked__isnull=True, expires__lte=timezone.now()).select_related(
            "workspace", "workspace__owner", "user"):
        try:
            live_share_revoke(actor=None, share=share, hub=hub, reason="expire")
            ended += 1
        except ValidationError as exc:
            logger.warning("Ending expired live share %s failed: %s", share.pk, exc.messages)
    return ended
