"""Real S3 calls with a person's own key, as code in their workspace would make them."""

import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def client_for(env):
    """An S3 client from a workspace's environment (the launch spec's AWS_* variables)."""
    return boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def denied(call, *args, **kwargs):
    """True when the store refuses the call (403 or an unknown key), False when it succeeds."""
    try:
        call(*args, **kwargs)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        assert status in (403, 400) or code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"), exc
        return True
    return False


def wait_until_denied(call, *args, timeout=60, **kwargs):
    """Seconds until the call is refused (it must be, within `timeout`)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if denied(call, *args, **kwargs):
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"still allowed after {timeout} s")
