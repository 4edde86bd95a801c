"""Make the usage ledger append-only in PostgreSQL itself, not only in the ORM."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION costs_usage_record_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the usage ledger is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER costs_usage_record_append_only BEFORE UPDATE OR DELETE ON costs_usagerecord
    FOR EACH ROW EXECUTE FUNCTION costs_usage_record_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS costs_usage_record_append_only ON costs_usagerecord;
DROP FUNCTION IF EXISTS costs_usage_record_append_only();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)
    return run


class Migration(migrations.Migration):
    dependencies = [("costs", "0001_initial")]
    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP))]
