"""The schema as one migration (the history before 2026-12-02 squashed: nothing was released).

`replaces` lets a database that ran the old migrations take this one as applied."""


from django.db import migrations, models

from portal.append_only import append_only_trigger


class Migration(migrations.Migration):

    initial = True
    replaces = [('audit', '0001_initial'), ('audit', '0002_append_only_trigger')]

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('actor_id', models.BigIntegerField(blank=True, db_index=True, null=True)),
                ('actor_username', models.CharField(blank=True, max_length=150)),
                ('action', models.CharField(db_index=True, max_length=64)),
                ('target_type', models.CharField(blank=True, max_length=64)),
                ('target_id', models.CharField(blank=True, max_length=64)),
                ('target_repr', models.CharField(blank=True, max_length=255)),
                ('ip_address', models.GenericIPAddressField(blank=True, null=True)),
                ('user_agent', models.CharField(blank=True, max_length=255)),
                ('data', models.JSONField(blank=True, default=dict)),
            ],
            options={
                'ordering': ['-created', '-id'],
                'indexes': [models.Index(fields=['target_type', 'target_id'], name='audit_audit_target__59bbff_idx')],
            },
        ),
        # Append-only in PostgreSQL itself, not only in the ORM.
        append_only_trigger(table='audit_auditevent', name='audit_event_append_only', what='the audit log'),
    ]
