"""The schema as one migration (the history before 2026-12-02 squashed: nothing was released).

`replaces` lets a database that ran the old migrations take this one as applied."""


import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from portal.append_only import append_only_trigger


class Migration(migrations.Migration):

    initial = True
    replaces = [('costs', '0001_initial'), ('costs', '0002_append_only_ledger'), ('costs', '0003_budget_stop'), ('costs', '0004_bucket_storage')]

    dependencies = [
        ('accounts', '0001_squashed'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='MeterLock',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('last_pass', models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name='PriceSheet',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('effective_from', models.DateTimeField(unique=True)),
                ('currency', models.CharField(max_length=3)),
                ('cpu_core_hour', models.PositiveBigIntegerField(help_text='Minor units per CPU core-hour.')),
                ('memory_gib_hour', models.PositiveBigIntegerField(help_text='Minor units per GiB of memory per hour.')),
                ('gpu_hour', models.JSONField(blank=True, default=dict, help_text='Minor units per GPU-hour by type; "" prices any other type.')),
                ('storage_gib_month', models.PositiveBigIntegerField(help_text='Minor units per GiB of disk per month (730 hours).')),
                ('note', models.CharField(blank=True, max_length=200)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.CharField(blank=True, max_length=150)),
            ],
            options={
                'ordering': ['-effective_from'],
            },
        ),
        migrations.CreateModel(
            name='Budget',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('amount', models.PositiveBigIntegerField(help_text='Minor units per period.')),
                ('currency', models.CharField(max_length=3)),
                ('thresholds', models.JSONField(default=list, help_text='Percentages of the budget that send an alert.')),
                ('action', models.CharField(choices=[('notify', 'Notify only'), ('block_launches', 'Block launches'), ('stop_workspaces', 'Block launches and stop workspaces after a grace period')], default='notify', max_length=20)),
                ('grace_minutes', models.PositiveIntegerField(default=60)),
                ('period_start_day', models.PositiveSmallIntegerField(default=1)),
                ('updated', models.DateTimeField(auto_now=True)),
                ('team', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='budget', to='accounts.team')),
            ],
        ),
        migrations.CreateModel(
            name='BudgetGrant',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('amount', models.PositiveBigIntegerField()),
                ('starts', models.DateTimeField()),
                ('ends', models.DateTimeField()),
                ('reason', models.CharField(max_length=500)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('team', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='budget_grants', to='accounts.team')),
            ],
            options={
                'ordering': ['-starts'],
            },
        ),
        migrations.CreateModel(
            name='BudgetStop',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('warned_at', models.DateTimeField()),
                ('stop_after', models.DateTimeField(help_text="When the team's running workspaces stop.")),
                ('mailed_at', models.DateTimeField(blank=True, help_text='When the owners were e-mailed about it.', null=True)),
                ('stopped_at', models.DateTimeField(blank=True, help_text='When the stop was first carried out.', null=True)),
                ('team', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='budget_stop', to='accounts.team')),
            ],
        ),
        migrations.CreateModel(
            name='MeterRun',
            fields=[
                ('id', models.BigIntegerField(help_text='The WorkspaceEvent that opened the span (-BucketSample id).', primary_key=True, serialize=False)),
                ('kind', models.CharField(choices=[('compute', 'Compute'), ('storage', 'Storage'), ('bucket', 'Bucket')], max_length=10)),
                ('workspace_id', models.BigIntegerField(db_index=True, null=True)),
                ('bucket_id', models.BigIntegerField(db_index=True, null=True)),
                ('bucket_name', models.CharField(blank=True, max_length=63)),
                ('workspace_name', models.CharField(max_length=40)),
                ('user_id', models.BigIntegerField(null=True)),
                ('username', models.CharField(max_length=150)),
                ('team_id', models.BigIntegerField(null=True)),
                ('team_slug', models.CharField(max_length=100)),
                ('profile_id', models.BigIntegerField(null=True)),
                ('profile_name', models.CharField(max_length=60)),
                ('image', models.CharField(max_length=300)),
                ('cpu', models.DecimalField(decimal_places=2, max_digits=6)),
                ('memory_bytes', models.BigIntegerField()),
                ('gpus', models.PositiveSmallIntegerField(default=0)),
                ('gpu_type', models.CharField(blank=True, max_length=40)),
                ('disk_bytes', models.BigIntegerField(default=0)),
                ('start', models.DateTimeField()),
                ('end', models.DateTimeField(blank=True, null=True)),
                ('metered_until', models.DateTimeField()),
            ],
            options={
                'indexes': [models.Index(fields=['end'], name='costs_meterrun_end')],
            },
        ),
        migrations.CreateModel(
            name='BudgetAlert',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('period_start', models.DateTimeField()),
                ('kind', models.CharField(choices=[('actual', 'Actual'), ('forecast', 'Forecast')], max_length=10)),
                ('threshold', models.PositiveSmallIntegerField()),
                ('spent', models.BigIntegerField(help_text='Minor units spent when it fired.')),
                ('forecast', models.BigIntegerField(null=True)),
                ('limit', models.BigIntegerField()),
                ('fired_at', models.DateTimeField()),
                ('mailed_at', models.DateTimeField(blank=True, null=True)),
                ('stop_after', models.DateTimeField(blank=True, help_text='stop_workspaces: when running workspaces stop.', null=True)),
                ('team', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='budget_alerts', to='accounts.team')),
            ],
            options={
                'ordering': ['-fired_at'],
                'constraints': [models.UniqueConstraint(fields=('team', 'period_start', 'kind', 'threshold'), name='budget_alert_once_per_period')],
            },
        ),
        migrations.CreateModel(
            name='UsageRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('compute', 'Compute'), ('storage', 'Storage'), ('bucket', 'Bucket')], max_length=10)),
                ('workspace_id', models.BigIntegerField(null=True)),
                ('bucket_id', models.BigIntegerField(null=True)),
                ('bucket_name', models.CharField(blank=True, max_length=63)),
                ('workspace_name', models.CharField(max_length=40)),
                ('user_id', models.BigIntegerField(null=True)),
                ('username', models.CharField(max_length=150)),
                ('team_id', models.BigIntegerField(null=True)),
                ('team_slug', models.CharField(max_length=100)),
                ('profile_id', models.BigIntegerField(null=True)),
                ('profile_name', models.CharField(max_length=60)),
                ('image', models.CharField(max_length=300)),
                ('start', models.DateTimeField()),
                ('end', models.DateTimeField()),
                ('duration_ms', models.BigIntegerField()),
                ('rate_micros_per_hour', models.BigIntegerField()),
                ('cost_micros', models.BigIntegerField(help_text='Millionths of the minor unit.')),
                ('currency', models.CharField(max_length=3)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('price_sheet', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='costs.pricesheet')),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='records', to='costs.meterrun')),
            ],
            options={
                'ordering': ['start', 'id'],
                'indexes': [models.Index(fields=['team_id', 'start'], name='costs_usage_team_start'), models.Index(fields=['workspace_id', 'start'], name='costs_usage_workspace_start')],
                'constraints': [models.UniqueConstraint(fields=('run', 'start'), name='usage_record_unique_run_start'), models.CheckConstraint(condition=models.Q(('end__gt', models.F('start'))), name='usage_record_end_after_start')],
            },
        ),
        # Append-only in PostgreSQL itself, not only in the ORM.
        append_only_trigger(table='costs_usagerecord', name='costs_usage_record_append_only', what='the usage ledger'),
    ]
