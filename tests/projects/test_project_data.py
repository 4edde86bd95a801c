"""A project's data: a bucket of its own that exactly the project's members' keys open (not the rest of its
team, nor anyone outside), with real S3 calls against real stores; shown on the project page."""

import pytest
from django.test import Client

from buckets import services
from buckets.launch import storage_env
from buckets.models import Bucket
from projects.services import project_update
from tests.buckets.conftest import any_store, moto_store, s3, seaweed  # noqa: F401  (the buckets tests' real stores)
from tests.buckets.helpers import client_for, denied
from tests.conftest import api_as, make_user
from tests.projects.conftest import make_project

pytestmark = pytest.mark.django_db


def provision(project, *users):
    """What the buckets app's tasks do after commit: the project's (and the team's) bucket, everyone's key."""
    services.bucket_provision(bucket_id=Bucket.objects.get(project=project).pk)
    services.bucket_provision(bucket_id=services.bucket_ensure_team(team=project.team).pk)
    for user in users:
        services.identity_sync(user_id=user.pk)
    return {user.get_username(): client_for(storage_env(user=user)) for user in users}


def test_only_the_projects_members_keys_open_its_bucket(any_store, alice, bob, carol, team):  # noqa: F811
    dora = make_user("dora", team=team)
    project = make_project(alice, team, "Churn", whole_team=False, members=["dora"])
    bucket = Bucket.objects.get(project=project)
    assert bucket.kind == "project" and bucket.team == team and bucket.name.endswith("-p-data-science-churn")
    keys = provision(project, alice, bob, carol, dora)

    keys["alice"].put_object(Bucket=bucket.name, Key="raw/customers.csv", Body=b"id\n1\n")  # an owner
    assert keys["dora"].get_object(Bucket=bucket.name, Key="raw/customers.csv")["Body"].read() == b"id\n1\n"  # a member
    assert denied(keys["bob"].get_object, Bucket=bucket.name, Key="raw/customers.csv")  # the team, not the project
    assert denied(keys["bob"].list_objects_v2, Bucket=bucket.name)
    assert denied(keys["carol"].get_object, Bucket=bucket.name, Key="raw/customers.csv")  # another team
    assert denied(keys["carol"].put_object, Bucket=bucket.name, Key="x", Body=b"1")
    team_bucket = Bucket.objects.get(team=team, primary=True).name
    keys["bob"].put_object(Bucket=team_bucket, Key="shared.csv", Body=b"1")  # bob keeps the team's own bucket

    # bob joins the project: his key opens it; dora leaves: hers no longer does.
    project_update(project=project, actor=alice, members=["bob"])
    for user in (bob, dora):
        services.identity_sync(user_id=user.pk)
    assert keys["bob"].get_object(Bucket=bucket.name, Key="raw/customers.csv")["Body"].read() == b"id\n1\n"
    assert denied(keys["dora"].get_object, Bucket=bucket.name, Key="raw/customers.csv")


def test_a_whole_team_project_opens_for_the_team_and_the_api_lists_it_to_members_only(any_store, alice, bob, carol, team):  # noqa: F811
    project = make_project(alice, team, "Forecast")
    bucket = Bucket.objects.get(project=project)
    keys = provision(project, alice, bob, carol)
    keys["bob"].put_object(Bucket=bucket.name, Key="notes.txt", Body=b"1")
    assert denied(keys["carol"].get_object, Bucket=bucket.name, Key="notes.txt")
    assert bucket.name in [item["name"] for item in api_as(bob).get("/api/v1/buckets/").json()["results"]]
    assert api_as(carol).get(f"/api/v1/buckets/{bucket.pk}/").status_code == 404
    assert api_as(carol).get(f"/api/v1/buckets/{bucket.pk}/objects/").status_code == 404


def test_the_project_page_shows_its_bucket(s3, alice, bob, team):  # noqa: F811
    project = make_project(alice, team, "Churn", whole_team=False)
    bucket = Bucket.objects.get(project=project)
    for user, member in ((alice, True), (bob, False)):
        client = Client()
        client.force_login(user)
        section = client.get(f"/projects/{project.pk}/").content.decode().split('id="project-data"')[1].split("</section>")[0]
        assert f"s3://{bucket.name}/" in section
        assert (f"/data/buckets/{bucket.pk}/" in section) is member


def test_leaving_the_team_closes_the_project_bucket_even_to_a_listed_member(any_store, alice, bob, team):  # noqa: F811
    from portal.accounts import services as accounts
    from portal.accounts.models import Membership

    project = make_project(alice, team, "Churn", whole_team=False, members=["bob"])
    bucket = Bucket.objects.get(project=project)
    keys = provision(project, alice, bob)
    keys["bob"].put_object(Bucket=bucket.name, Key="mine.csv", Body=b"1")
    accounts.membership_remove(membership=Membership.objects.get(user=bob, team=team), actor=alice)
    services.identity_sync(user_id=bob.pk)
    assert list(project.members.values_list("username", flat=True)) == ["bob"]  # still listed
    assert denied(keys["bob"].get_object, Bucket=bucket.name, Key="mine.csv")
