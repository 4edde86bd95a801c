"""What a workspace gets from the buckets app: the one function workspaces/launch.py calls (an import
contract in pyproject.toml keeps it the only way in)."""

import json

from django.conf import settings
from django.db.models import Q

from buckets.crypto import secret_decrypt
from buckets.models import Bucket, State, StorageIdentity
from buckets.services import current_key


def storage_env(*, user):
    """The variables a workspace of `user` starts with: the standard AWS ones (boto3, s3fs/pandas and the
    AWS CLI read them) and PLATFORM_BUCKETS_JSON, the buckets by name (written to ~/.platform/buckets.json
    in the workspace). Reads the database only, so an object-store outage never blocks a launch; when
    there is no usable key yet, it says why instead."""
    if not settings.PLATFORM_S3_ENDPOINT_URL and settings.PLATFORM_S3_BACKEND != "fake":
        return {}
    identity = StorageIdentity.objects.filter(user=user).first()
    key = current_key(identity) if identity is not None else None
    buckets = [{"name": bucket.name, "kind": bucket.kind, "team": bucket.team.slug if bucket.team else None,
                "url": f"s3://{bucket.name}/", "writable": not bucket.over_quota}
               for bucket in Bucket.objects.filter(Q(owner=user, kind=Bucket.Kind.PERSONAL) | Q(team__memberships__user=user))
               .exclude(state=State.ORPHANED).select_related("team").distinct().order_by("kind", "name")]
    listing = {"endpoint_url": settings.PLATFORM_S3_PUBLIC_URL, "region": settings.PLATFORM_S3_REGION, "buckets": buckets}
    if key is None or identity.state == State.FAILED and not identity.policy_digest:
        reason = identity.state_reason if identity is not None and identity.state_reason else "being provisioned"
        listing["unavailable"] = f"Storage is unavailable: {reason}. Restart the workspace once the Data page shows it ready."
        return {"PLATFORM_BUCKETS_JSON": json.dumps(listing)}
    return {
        "AWS_ACCESS_KEY_ID": key.access_key_id,
        "AWS_SECRET_ACCESS_KEY": secret_decrypt(key.secret_encrypted),
        "AWS_ENDPOINT_URL": settings.PLATFORM_S3_PUBLIC_URL,
        "AWS_DEFAULT_REGION": settings.PLATFORM_S3_REGION,
        "AWS_REGION": settings.PLATFORM_S3_REGION,
        # s3fs (pandas' s3://) reads its endpoint from fsspec's configuration variables.
        "FSSPEC_S3_ENDPOINT_URL": settings.PLATFORM_S3_PUBLIC_URL,
        "PLATFORM_BUCKETS_JSON": json.dumps(listing),
    }
