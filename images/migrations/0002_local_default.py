"""The platform's own Python as the first local environment, approved for every team, so a fresh
install can launch before anything else is curated (workspaces stored "local:default" before the catalog)."""

from django.db import migrations


def create_default(apps, schema_editor):
    Repository = apps.get_model("images", "Repository")
    ImageTag = apps.get_model("images", "ImageTag")
    repository, _ = Repository.objects.get_or_create(name="local/default", defaults={"namespace": "local"})
    ImageTag.objects.get_or_create(repository=repository, tag="default",
                                   defaults={"kind": "local", "python": "", "status": "approved", "all_teams": True})


class Migration(migrations.Migration):
    dependencies = [("images", "0001_catalog")]
    operations = [migrations.RunPython(create_default, migrations.RunPython.noop)]
