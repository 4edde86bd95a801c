"""A migration operation that makes a table append-only in PostgreSQL itself, not only in the ORM
(the audit log, the usage ledger). Other databases (the embedded SQLite) get nothing."""

from django.db import migrations


def append_only_trigger(*, table, name, what):
    """RunPython that installs (and on reverse removes) a trigger refusing UPDATE and DELETE on `table`."""
    create = f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{what} is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {name}();
"""
    drop = f"""
DROP TRIGGER IF EXISTS {name} ON {table};
DROP FUNCTION IF EXISTS {name}();
"""
    return migrations.RunPython(_on_postgresql(create), _on_postgresql(drop))


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)
    return run
