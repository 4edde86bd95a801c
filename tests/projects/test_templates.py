"""Project templates: the built-in one renders the lifecycle layout into a git repository; platform admins
register more (a cookiecutter directory or a Git URL the platform reaches) and pick the default; an unknown
template or an unreachable URL is a 400 naming the field."""

import json
import subprocess

import pytest

from projects.models import ProjectTemplate
from projects.stages import STAGES
from projects.templates import BUILTIN_DIR, RenderContext, project_files_render, template_resolve
from tests.conftest import api_as

CONTEXT = RenderContext(name="Churn model", slug="churn-model", description="Who leaves, and why.", team="Data Science",
                        repository_url="", board_url="https://board.example.org/7", author_name="Alice",
                        author_email="alice@example.org")


def make_template_repo(path):
    """A tiny cookiecutter template in a git repository of its own, reachable as a file:// URL."""
    (path / "{{cookiecutter.project_slug}}").mkdir(parents=True)
    (path / "cookiecutter.json").write_text(json.dumps({"project_name": "x", "project_slug": "x"}))
    (path / "{{cookiecutter.project_slug}}" / "NOTES.md").write_text("Notes of {{ cookiecutter.project_name }}\n")
    for step in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "template"]):
        subprocess.run(["git", "-C", str(path), *step], check=True, capture_output=True)
    return f"file://{path}"


def test_the_builtin_template_renders_the_lifecycle_layout_as_one_commit(db):
    rendered = project_files_render(source=str(BUILTIN_DIR), template_name="dslp", context=CONTEXT)
    assert rendered.folder == "churn-model" and len(rendered.commit) == 40
    readme = rendered.files["README.md"].decode()
    assert all(f"**{stage.label}**" in readme for stage in STAGES)
    assert readme.count("- [ ] ") == sum(len(stage.deliverables) for stage in STAGES)
    assert "Who leaves, and why." in readme and "https://board.example.org/7" in readme
    labels = rendered.files[".github/labels.yaml"].decode()
    assert all(f'"stage: {stage.value}"' in labels for stage in STAGES)
    # GitHub's own ${{ }} expressions are not cookiecutter's: the workflow is copied as written.
    assert "actions/checkout" in rendered.files[".github/workflows/ci.yaml"].decode()
    assert ".git/config" in rendered.files and "[remote" not in rendered.files[".git/config"].decode()  # no URL, no remote
    assert not any(path.startswith(".git/hooks") for path in rendered.files)  # git's sample hooks stay out


def test_an_admin_registers_a_git_template_and_makes_it_the_default(admin, alice, tmp_path):
    url = make_template_repo(tmp_path / "notes-template")
    response = api_as(admin).post("/api/v1/project-templates/", {"name": "notes", "source": url, "is_default": True}, format="json")
    assert response.status_code == 201, response.json()
    assert template_resolve("") == ("notes", url)
    rendered = project_files_render(source=url, template_name="notes", context=CONTEXT)
    assert rendered.files["NOTES.md"] == b"Notes of Churn model\n"
    assert [item["name"] for item in api_as(alice).get("/api/v1/project-templates/").json()] == ["notes"]
    assert api_as(alice).post("/api/v1/project-templates/", {"name": "mine", "source": url}, format="json").status_code == 403


def test_a_second_default_replaces_the_first(admin, tmp_path):
    first, second = make_template_repo(tmp_path / "one"), make_template_repo(tmp_path / "two")
    for name, url in (("one", first), ("two", second)):
        assert api_as(admin).post("/api/v1/project-templates/", {"name": name, "source": url, "is_default": True},
                                  format="json").status_code == 201
    assert list(ProjectTemplate.objects.filter(is_default=True).values_list("name", flat=True)) == ["two"]
    assert api_as(admin).get("/api/v1/project-templates/default/").json() == {"template": "two"}
    # Back to the built-in one; an unknown name is refused naming the field.
    assert api_as(admin).put("/api/v1/project-templates/default/", {"template": "dslp"}, format="json").json() == {"template": "dslp"}
    assert not ProjectTemplate.objects.filter(is_default=True).exists()
    unknown = api_as(admin).put("/api/v1/project-templates/default/", {"template": "three"}, format="json")
    assert unknown.status_code == 400 and "template" in unknown.json()["errors"]


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "gone", "source": "file:///nonexistent/template.git"}, "source"),
    ({"name": "gone", "source": "https://127.0.0.1:9/template.git"}, "source"),
    ({"name": "relative", "source": "templates/mine"}, "source"),
    ({"name": "no-json", "source": "/tmp"}, "source"),
    ({"name": "dslp", "source": str(BUILTIN_DIR)}, "name"),
])
def test_unusable_templates_are_refused_naming_the_field(admin, body, field):
    response = api_as(admin).post("/api/v1/project-templates/", body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"], response.json()


def test_an_unknown_template_name_is_refused(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        template_resolve("no-such")
    assert "template" in refused.value.message_dict and "dslp" in refused.value.message_dict["template"][0]
