"""dsw_client's shares against the live portal: who sees a published notebook, grants, secret links and the
owner's changes, as a script does them (publishing and copies need a running workspace: tests/sharing)."""

import pytest

from dsw_client import BadInput, NotFound
from sharing.models import SharedNotebook
from tests.conftest import token_for


@pytest.fixture
def notebook(alice):
    return SharedNotebook.objects.create(owner=alice, path="churn.ipynb", title="Churn")


def test_a_script_shares_a_notebook_and_takes_it_back(connect, live_server, alice, bob, carol, notebook):
    owner, reader = connect(live_server.url, token_for(alice)), connect(live_server.url, token_for(bob))
    assert [item["id"] for item in owner.shares.notebooks()] == [notebook.pk]
    assert reader.shares.notebooks() == [] and reader.shares.shared_with_me()["notebooks"] == []
    with pytest.raises(NotFound):
        reader.shares.get(notebook.pk)

    grant = owner.shares.grant(notebook.pk, username="bob")
    assert grant["username"] == "bob" and grant["role"] == "view"
    assert [item["id"] for item in reader.shares.notebooks()] == [notebook.pk]
    assert reader.shares.shared_with_me()["notebooks"] == []  # listed there once it has a version to look at
    assert reader.shares.get(notebook.pk)["title"] == "Churn" and reader.shares.versions(notebook.pk) == []
    assert owner.shares.change_grant(notebook.pk, grant["id"], "copy")["role"] == "copy"
    assert [item["role"] for item in owner.shares.grants(notebook.pk)] == ["copy"]
    with pytest.raises(BadInput) as refused:
        owner.shares.grant(notebook.pk, username="carol")  # another team's
    assert "username" in str(refused.value.errors)

    link = owner.shares.create_link(notebook.pk, expires_in_days=2)
    assert link["url"] and [item["id"] for item in owner.shares.links(notebook.pk)] == [link["id"]]
    owner.shares.revoke_link(notebook.pk, link["id"])
    assert owner.shares.links(notebook.pk)[0]["revoked"]

    assert owner.shares.update(notebook.pk, title="Churn model")["title"] == "Churn model"
    owner.shares.revoke_grant(notebook.pk, grant["id"])
    with pytest.raises(NotFound):
        reader.shares.get(notebook.pk)
    assert owner.shares.live() == [] and reader.shares.shared_with_me()["workspaces"] == []
    owner.shares.delete(notebook.pk)
    assert owner.shares.notebooks() == []
