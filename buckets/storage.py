"""Object storage as the buckets app sees it: S3 for buckets and objects, the AWS IAM API for
per-person identities, keys and policies. One thin boto3 adapter serves SeaweedFS, AWS, Ceph RGW
and moto alike; `FakeStorage` keeps the same contract in memory for fast unit tests.

"Already exists" and "already gone" are successes: every call may be repeated. A store that does
not answer raises StorageUnavailable; anything else it refuses raises StorageError, both with a
message a person can read (never a secret).
"""

import functools
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone

# The object actions a person's key gets on the buckets they may use. No bucket-level admin
# (policies, ACLs, deletion of the bucket itself, versioning): the platform owns the buckets.
# Only names every back end accepts (SeaweedFS refuses ListBucketMultipartUploads and Deny statements;
# PutObject covers multipart uploads everywhere).
READ_ACTIONS = ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"]
WRITE_ACTIONS = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
POLICY_NAME = "platform-buckets"


class StorageError(Exception):
    pass


class StorageUnavailable(StorageError):
    pass


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class BucketUsage:
    size_bytes: int
    objects: int


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class Listing:
    prefixes: list
    objects: list
    next_token: str = ""


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict


def policy_document(*, read_write, read_only=()):
    """The IAM policy for a person: object access to `read_write` buckets, read access to `read_only`
    ones (buckets over their quota), or None when there is nothing to allow (the policy is removed:
    an identity without one may do nothing). Deletes are writes on SeaweedFS, so a read-only bucket
    gets no delete either."""
    statements = []
    for names, actions in ((sorted(read_write), READ_ACTIONS + WRITE_ACTIONS), (sorted(read_only), READ_ACTIONS)):
        if names:
            resources = [arn for name in names for arn in (f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*")]
            statements.append({"Effect": "Allow", "Action": actions, "Resource": resources})
    return {"Version": "2012-10-17", "Statement": statements} if statements else None


class S3Storage:
    """boto3 against one S3 endpoint and its IAM API (SeaweedFS serves IAM on the S3 port)."""

    def __init__(self, *, endpoint_url, access_key_id, secret_access_key, region="us-east-1", iam_endpoint_url="",
                 public_url="", timeout=10):
        import boto3
        from botocore.config import Config

        self.endpoint_url = endpoint_url or None
        config = Config(connect_timeout=timeout, read_timeout=timeout * 3, retries={"max_attempts": 2, "mode": "standard"},
                        s3={"addressing_style": "path"}, signature_version="s3v4")
        session = boto3.session.Session(aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
                                        region_name=region)
        self.s3 = session.client("s3", endpoint_url=self.endpoint_url, config=config)
        self.iam = session.client("iam", endpoint_url=(iam_endpoint_url or endpoint_url) or None, config=config)
        # Presigned URLs are followed by browsers and workspaces: sign them for the address they use.
        self.presigner = (session.client("s3", endpoint_url=public_url, config=config)
                          if public_url and public_url != endpoint_url else self.s3)

    def _call(self, what, function, *args, ok=(), **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError, ConnectionError as BotoConnectionError
        from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

        try:
            return function(*args, **kwargs)
        except (EndpointConnectionError, BotoConnectionError, ReadTimeoutError) as exc:
            raise StorageUnavailable(f"The object store does not answer ({what}): {exc.__class__.__name__}") from None
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ok:
                return None
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status >= 500:
                raise StorageUnavailable(f"The object store failed ({what}): {code or status}") from None
            raise StorageError(f"The object store refused {what}: {code or status}") from None
        except BotoCoreError as exc:
            raise StorageUnavailable(f"The object store failed ({what}): {exc.__class__.__name__}") from None

    # --- objects the platform keeps for itself (shared notebooks: sharing/blobs.py) -------------
    def object_put(self, bucket, key, data):
        self._call(f"writing {key}", self.s3.put_object, Bucket=bucket, Key=key, Body=data)

    def object_get(self, bucket, key):
        """The object's bytes, or None when there is no such object."""
        body = self._call(f"reading {key}", self.s3.get_object, Bucket=bucket, Key=key, ok=("NoSuchKey", "404"))
        return None if body is None else body["Body"].read()

    # --- buckets -------------------------------------------------------------
    def bucket_ensure(self, name):
        self._call(f"creating bucket {name}", self.s3.create_bucket, Bucket=name,
                   ok=("BucketAlreadyOwnedByYou", "BucketAlreadyExists"))

    def bucket_usage(self, name):
        size = objects = 0
        token = None
        while True:
            kwargs = {"Bucket": name, "MaxKeys": 1000, **({"ContinuationToken": token} if token else {})}
            page = self._call(f"listing bucket {name}", self.s3.list_objects_v2, **kwargs)
            for item in page.get("Contents", []):
                size += item["Size"]
                objects += 1
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return BucketUsage(size_bytes=size, objects=objects)

    def object_list(self, bucket, *, prefix="", token="", limit=200):
        kwargs = {"Bucket": bucket, "Prefix": prefix, "Delimiter": "/", "MaxKeys": limit,
                  **({"ContinuationToken": token} if token else {})}
        page = self._call(f"listing bucket {bucket}", self.s3.list_objects_v2, **kwargs)
        return Listing(prefixes=[item["Prefix"] for item in page.get("CommonPrefixes", [])],
                       objects=[StoredObject(key=item["Key"], size=item["Size"], last_modified=item["LastModified"])
                                for item in page.get("Contents", [])],
                       next_token=page.get("NextContinuationToken", "") if page.get("IsTruncated") else "")

    def presign_get(self, bucket, key, *, expires):
        return self.presigner.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires)

    def presign_put(self, bucket, key, *, expires):
        return self.presigner.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires)

    def presign_post(self, bucket, *, prefix, expires, max_bytes, redirect=""):
        """A browser form upload of one file under `prefix` (`${filename}` is the file's own name)."""
        conditions = [["starts-with", "$key", prefix], ["content-length-range", 0, max_bytes]]
        fields = {}
        if redirect:
            fields["success_action_redirect"] = redirect
            conditions.append({"success_action_redirect": redirect})
        post = self.presigner.generate_presigned_post(bucket, prefix + "${filename}", Fields=fields or None,
                                                      Conditions=conditions, ExpiresIn=expires)
        return PresignedPost(url=post["url"], fields=post["fields"])

    # --- identities ----------------------------------------------------------
    def identity_ensure(self, name):
        """True when the identity was made now, False when it existed."""
        answer = self._call(f"creating identity {name}", self.iam.create_user, UserName=name, ok=("EntityAlreadyExists",))
        return answer is not None

    def identity_delete(self, name):
        for key_id in self.key_list(name):
            self.key_delete(name, key_id)
        self._call(f"removing the policy of {name}", self.iam.delete_user_policy, UserName=name, PolicyName=POLICY_NAME,
                   ok=("NoSuchEntity",))
        self._call(f"deleting identity {name}", self.iam.delete_user, UserName=name, ok=("NoSuchEntity",))

    def policy_put(self, name, document):
        """Replace the identity's policy with `document`; None removes it."""
        if document is None:
            self._call(f"removing the policy of {name}", self.iam.delete_user_policy, UserName=name,
                       PolicyName=POLICY_NAME, ok=("NoSuchEntity",))
            return
        self._call(f"setting the policy of {name}", self.iam.put_user_policy, UserName=name, PolicyName=POLICY_NAME,
                   PolicyDocument=json.dumps(document))

    def key_create(self, name):
        answer = self._call(f"creating a key for {name}", self.iam.create_access_key, UserName=name)
        key = answer["AccessKey"]
        return AccessKey(access_key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])

    def key_list(self, name):
        answer = self._call(f"listing the keys of {name}", self.iam.list_access_keys, UserName=name, ok=("NoSuchEntity",))
        return [item["AccessKeyId"] for item in (answer or {}).get("AccessKeyMetadata", [])]

    def key_delete(self, name, access_key_id):
        self._call(f"deleting a key of {name}", self.iam.delete_access_key, UserName=name, AccessKeyId=access_key_id,
                   ok=("NoSuchEntity",))


class FakeStorage:
    """The same contract in memory (one per process), for unit tests of the services' bookkeeping.
    `down` makes every call raise StorageUnavailable."""

    def __init__(self):
        self.lock = threading.Lock()
        self.buckets = {}  # name -> {key: bytes}
        self.identities = {}  # name -> {"keys": {id: secret}, "policy": dict|None}
        self.down = False
        self.calls = []
        self._serial = 0

    def _enter(self, what):
        self.calls.append(what)
        if self.down:
            raise StorageUnavailable(f"The object store does not answer ({what}): fake outage")

    def object_put(self, bucket, key, data):
        self._enter("object_put")
        with self.lock:
            self.buckets.setdefault(bucket, {})[key] = bytes(data)

    def object_get(self, bucket, key):
        self._enter("object_get")
        return self.buckets.get(bucket, {}).get(key)

    def bucket_ensure(self, name):
        self._enter("bucket_ensure")
        with self.lock:
            self.buckets.setdefault(name, {})

    def bucket_usage(self, name):
        self._enter("bucket_usage")
        objects = self.buckets.get(name, {})
        return BucketUsage(size_bytes=sum(len(data) for data in objects.values()), objects=len(objects))

    def object_list(self, bucket, *, prefix="", token="", limit=200):
        self._enter("object_list")
        keys = sorted(key for key in self.buckets.get(bucket, {}) if key.startswith(prefix))
        prefixes = sorted({prefix + key[len(prefix):].split("/")[0] + "/" for key in keys if "/" in key[len(prefix):]})
        now = datetime.now(timezone.utc)
        return Listing(prefixes=prefixes, objects=[StoredObject(key, len(self.buckets[bucket][key]), now)
                                                   for key in keys if "/" not in key[len(prefix):]])

    def presign_get(self, bucket, key, *, expires):
        return f"https://fake-s3/{bucket}/{key}?expires={expires}"

    def presign_put(self, bucket, key, *, expires):
        return f"https://fake-s3/{bucket}/{key}?upload&expires={expires}"

    def presign_post(self, bucket, *, prefix, expires, max_bytes, redirect=""):
        return PresignedPost(url=f"https://fake-s3/{bucket}", fields={"key": prefix + "${filename}"})

    def identity_ensure(self, name):
        self._enter("identity_ensure")
        with self.lock:
            created = name not in self.identities
            self.identities.setdefault(name, {"keys": {}, "policy": None})
        return created

    def identity_delete(self, name):
        self._enter("identity_delete")
        with self.lock:
            self.identities.pop(name, None)

    def policy_put(self, name, document):
        self._enter("policy_put")
        with self.lock:
            self.identities[name]["policy"] = document

    def key_create(self, name):
        self._enter("key_create")
        with self.lock:
            self._serial += 1
            key = AccessKey(access_key_id=f"FAKE{self._serial:016d}", secret=f"secret-{self._serial}-{name}")
            self.identities[name]["keys"][key.access_key_id] = key.secret
        return key

    def key_list(self, name):
        self._enter("key_list")
        return sorted(self.identities.get(name, {"keys": {}})["keys"])

    def key_delete(self, name, access_key_id):
        self._enter("key_delete")
        with self.lock:
            self.identities.get(name, {"keys": {}})["keys"].pop(access_key_id, None)


_fake = None


def storage():
    """The configured back end: S3 at PLATFORM_S3_ENDPOINT_URL (any S3 with the IAM API), the in-memory
    fake when PLATFORM_S3_BACKEND is `fake` (tests), or None when no object store is configured."""
    global _fake
    from django.conf import settings

    if settings.PLATFORM_S3_BACKEND == "fake":
        if _fake is None:
            _fake = FakeStorage()
        return _fake
    if not settings.PLATFORM_S3_ENDPOINT_URL:
        return None
    return _s3_storage(settings.PLATFORM_S3_ENDPOINT_URL, settings.PLATFORM_S3_ADMIN_ACCESS_KEY,
                       settings.PLATFORM_S3_ADMIN_SECRET_KEY, settings.PLATFORM_S3_REGION,
                       settings.PLATFORM_S3_IAM_ENDPOINT_URL, settings.PLATFORM_S3_PUBLIC_URL)


@functools.lru_cache(maxsize=8)
def _s3_storage(endpoint_url, access_key_id, secret, region, iam_endpoint_url, public_url):
    # One per process and configuration: making boto3 clients costs ~0.1 s each (they load their service
    # models), more than the calls themselves; the clients are thread-safe.
    return S3Storage(endpoint_url=endpoint_url, access_key_id=access_key_id, secret_access_key=secret, region=region,
                     iam_endpoint_url=iam_endpoint_url, public_url=public_url)
