"""The token a workspace logs to MLflow with (MLFLOW_TRACKING_TOKEN): one person's, for one workspace.

Signed, not stored: the launch spec is read at every start and must not write (a spawner retry would mint
tokens in bulk), and a token proves only who it was made for. It works while its person is active (deactivating
someone ends it, as it ends their other tokens) and only for tracking: the portal's API does not take it.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core import signing

TOKEN_PREFIX = "mlt_"
_SALT = "tracking.workspace-token"


@dataclass(frozen=True)
class TrackingIdentity:
    user: object
    can_write: bool
    source: str


def tracking_token_for(*, user, workspace_id):
    """The workspace's token; the same one each time for the same person and workspace (idempotent)."""
    return TOKEN_PREFIX + signing.Signer(salt=_SALT).sign(f"{user.pk}.{workspace_id}")


def tracking_token_authenticate(raw):
    """The active person a tracking token was made for, or None."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    try:
        value = signing.Signer(salt=_SALT).unsign(raw[len(TOKEN_PREFIX):])
        user_pk = int(value.split(".", 1)[0])
    except (signing.BadSignature, ValueError):
        return None
    return get_user_model().objects.filter(pk=user_pk, is_active=True).first()
