"""Buckets from scripts, on a real object store (SeaweedFS): the library and `dsw buckets`; files go
to and from the store through presigned links, never with the platform's token."""

import json

import pytest

from buckets import services
from buckets.models import Bucket
from dsw_client import BadInput, NotAllowed, NotFound
from tests.buckets.conftest import s3, seaweed  # noqa: F401  (fixtures)
from tests.client.conftest import one_line_error
from tests.conftest import PASSWORD, token_for


@pytest.fixture
def ready(s3, alice, bob, team):  # noqa: F811
    services.bucket_provision(bucket_id=services.bucket_ensure_team(team=team).pk)
    for user in (alice, bob):
        services.identity_sync(user_id=user.pk)
    return Bucket.objects.get(team=team)


def test_the_library_lists_uploads_browses_and_downloads(connect, live_server, ready, alice, bob, team, tmp_path):
    mine = connect(live_server.url, token_for(alice))
    names = {bucket.name for bucket in mine.buckets.list()}
    assert names == {ready.name, Bucket.objects.get(owner=alice).name}
    assert [bucket.name for bucket in mine.buckets.of_team("data-science")] == [ready.name]
    assert mine.buckets.get(ready.name).state == "ready" and mine.buckets.get(ready.id).url == f"s3://{ready.name}/"

    data = tmp_path / "iris.csv"
    data.write_bytes(b"a,b\n1,2\n")
    mine.buckets.upload(ready.name, "in/iris.csv", data)
    theirs = connect(live_server.url, token_for(bob))
    assert theirs.buckets.browse(ready.id).prefixes == ["in/"]
    listing = theirs.buckets.browse(ready.id, "in/")
    assert [(item.key, item.size) for item in listing.objects] == [("in/iris.csv", 8)]
    theirs.buckets.download(ready.id, "in/iris.csv", tmp_path / "copy.csv")
    assert (tmp_path / "copy.csv").read_bytes() == b"a,b\n1,2\n"

    with pytest.raises(NotFound):  # the store's own 404, and no file left behind
        theirs.buckets.download(ready.id, "in/missing.csv", tmp_path / "missing.csv")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["copy.csv", "iris.csv"]
    link = theirs.buckets.download_link(ready.id, "in/iris.csv")
    assert link.method == "GET" and link.url not in repr(link)


def test_credentials_show_the_secret_once(connect, live_server, ready, alice):
    mine = connect(live_server.url, token_for(alice))
    state = mine.buckets.credentials()
    assert state.state == "ready" and state.access_key_id and not state.secret_shown
    secret = mine.buckets.reveal_credentials()
    assert secret.access_key_id == state.access_key_id and secret.secret_access_key not in repr(secret)
    with pytest.raises(BadInput):
        mine.buckets.reveal_credentials()
    assert mine.buckets.rotate_credentials().rotation_requested


def test_only_platform_admins_add_team_buckets_and_set_quotas(connect, live_server, ready, alice, admin):
    with pytest.raises(NotAllowed):
        connect(live_server.url, token_for(alice)).buckets.create_for_team("data-science", "raw")
    platform = connect(live_server.url, token_for(admin))
    raw = platform.buckets.create_for_team("data-science", "raw", quota_bytes=2**30)
    assert raw.name.endswith("-t-data-science-raw") and raw.quota_bytes == 2**30
    assert platform.buckets.set_quota(raw, None).quota_bytes is None
    with pytest.raises(BadInput) as bad:
        platform.buckets.set_quota(raw.id, -5)
    assert "quota_bytes" in bad.value.errors


def test_dsw_buckets(dsw, ready, alice, tmp_path):
    dsw.login("alice", PASSWORD)
    table = dsw.ok("buckets").stdout.splitlines()
    assert table[0].split() == ["NAME", "KIND", "OF", "STATE", "SIZE", "OBJECTS", "QUOTA"]
    assert any(line.startswith(ready.name) and " team " in line and "data-science" in line for line in table[1:])

    (tmp_path / "notes.txt").write_text("hello")
    assert dsw.ok("buckets", "upload", ready.name, str(tmp_path / "notes.txt"), "docs/notes.txt").stdout.strip() \
        == f"{tmp_path / 'notes.txt'} -> {ready.name}/docs/notes.txt"
    assert dsw.ok("buckets", "ls", ready.name).stdout.splitlines()[1].split()[0] == "docs/"
    listing = json.loads(dsw.ok("buckets", "ls", str(ready.id), "docs/", "--json").stdout)
    assert [item["key"] for item in listing["objects"]] == ["docs/notes.txt"]
    assert dsw.ok("buckets", "download", ready.name, "docs/notes.txt", "-", binary=True).stdout == b"hello"

    result = dsw("buckets", "ls", "nobodys-bucket")
    assert result.returncode == 4 and one_line_error(result) == "dsw: You have no bucket named 'nobodys-bucket'."
