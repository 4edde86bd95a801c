"""Real object stores for the buckets tests: SeaweedFS (the embedded default) for every test, and
moto's server as a second back end where a test asks for `any_store`."""

import json

import pytest

from tests.buckets.seaweed import start_seaweed, stop_seaweed


@pytest.fixture(scope="session")
def seaweed():
    store = start_seaweed()
    try:
        yield store
    finally:
        stop_seaweed(store)


@pytest.fixture(scope="session")
def moto_store():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        yield url
    finally:
        server.stop()


def _use_store(settings, *, url, key_id, secret, prefix):
    settings.PLATFORM_S3_BACKEND = "s3"
    settings.PLATFORM_S3_ENDPOINT_URL = settings.PLATFORM_S3_PUBLIC_URL = settings.PLATFORM_S3_IAM_ENDPOINT_URL = url
    settings.PLATFORM_S3_ADMIN_ACCESS_KEY, settings.PLATFORM_S3_ADMIN_SECRET_KEY = key_id, secret
    settings.PLATFORM_BUCKETS_PREFIX = prefix


@pytest.fixture
def s3(settings, seaweed, worker_id):
    """The platform pointed at the session's SeaweedFS, with a prefix of its own per test, so tests never
    see each other's buckets."""
    import secrets

    _use_store(settings, url=seaweed.endpoint_url, key_id=seaweed.access_key_id, secret=seaweed.secret,
               prefix=f"t{secrets.token_hex(3)}")
    return seaweed


@pytest.fixture(params=["seaweedfs", "moto"])
def any_store(request, settings):
    """SeaweedFS, then moto's server as a second back end, each with its IAM policies enforced."""
    import secrets

    import boto3
    import requests

    prefix = f"t{secrets.token_hex(3)}"
    if request.param == "seaweedfs":
        store = request.getfixturevalue("seaweed")
        _use_store(settings, url=store.endpoint_url, key_id=store.access_key_id, secret=store.secret, prefix=prefix)
        return request.param
    url = request.getfixturevalue("moto_store")
    # moto checks credentials and IAM policies only once told to: make the platform's admin identity
    # while it does not, then switch enforcement on for everything that follows.
    requests.post(f"{url}/moto-api/reset-auth", data=b"1000000", timeout=10)
    requests.post(f"{url}/moto-api/reset", timeout=10)
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    iam.create_user(UserName="platform-admin")
    iam.put_user_policy(UserName="platform-admin", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}]}))
    key = iam.create_access_key(UserName="platform-admin")["AccessKey"]
    requests.post(f"{url}/moto-api/reset-auth", data=b"0", timeout=10)
    _use_store(settings, url=url, key_id=key["AccessKeyId"], secret=key["SecretAccessKey"], prefix=prefix)
    return request.param
