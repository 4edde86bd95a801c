"""Make the audit log append-only in PostgreSQL itself, not only in the ORM."""

from django.db import migrations

from portal.append_only import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [append_only_trigger(table="audit_auditevent", name="audit_event_append_only", what="the audit log")]
