"""Make the usage ledger append-only in PostgreSQL itself, not only in the ORM."""

from django.db import migrations

from portal.append_only import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("costs", "0001_initial")]
    operations = [append_only_trigger(table="costs_usagerecord", name="costs_usage_record_append_only",
                                      what="the usage ledger")]
