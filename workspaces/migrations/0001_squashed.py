"""The schema as one migration (the history before 2026-12-02 squashed: nothing was released).

`replaces` lets a database that ran the old migrations take this one as applied."""


import django.core.validators
import django.db.models.deletion
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True
    replaces = [('workspaces', '0001_initial'), ('workspaces', '0002_workspace_delete_home'), ('workspaces', '0004_culling_max_age'), ('workspaces', '0005_merge_0002_workspace_delete_home_0004_culling_max_age'), ('workspaces', '0006_profile_starter'), ('workspaces', '0007_server_liveness'), ('workspaces', '0008_event_kinds')]

    dependencies = [
        ('accounts', '0001_squashed'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Profile',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=60, unique=True)),
                ('description', models.TextField(blank=True)),
                ('cpu', models.DecimalField(decimal_places=2, help_text='Cores; fractions allowed.', max_digits=6, validators=[django.core.validators.MinValueValidator(Decimal('0.1'))])),
                ('memory_bytes', models.BigIntegerField()),
                ('gpus', models.PositiveSmallIntegerField(default=0)),
                ('gpu_type', models.CharField(blank=True, help_text='e.g. h100; empty means any type.', max_length=40)),
                ('disk_bytes', models.BigIntegerField(default=10737418240)),
                ('idle_timeout_minutes', models.PositiveIntegerField(blank=True, help_text='Stop a workspace idle this long; 0 never; empty: the platform default.', null=True)),
                ('max_age_hours', models.PositiveIntegerField(blank=True, help_text='Stop a workspace running this long; 0 never; empty: the platform default.', null=True)),
                ('hourly_price_hint', models.PositiveIntegerField(default=0, help_text='Minor currency units per hour, for display.')),
                ('enabled', models.BooleanField(default=True)),
                ('all_teams', models.BooleanField(default=True, help_text='Every team may use it; otherwise only the teams listed.')),
                ('starter', models.BooleanField(default=False, help_text="Made at the platform's first start from the machine's size (workspaces/starter.py); edit or remove it like any other.")),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('teams', models.ManyToManyField(blank=True, related_name='profiles', to='accounts.team')),
            ],
            options={
                'ordering': ['cpu', 'memory_bytes', 'name'],
            },
        ),
        migrations.CreateModel(
            name='Workspace',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=40, validators=[django.core.validators.RegexValidator('^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$', 'Use 1–40 lower-case letters, digits and dashes, starting and ending with a letter or digit.')])),
                ('image', models.CharField(help_text='The environment it launches from.', max_length=300)),
                ('desired_state', models.CharField(choices=[('running', 'Running'), ('stopped', 'Stopped'), ('deleted', 'Deleted')], default='running', max_length=16)),
                ('observed_state', models.CharField(choices=[('none', 'None'), ('pending', 'Pending'), ('starting', 'Starting'), ('running', 'Running'), ('stopping', 'Stopping'), ('stopped', 'Stopped'), ('failed', 'Failed')], default='none', max_length=16)),
                ('failure_reason', models.CharField(blank=True, choices=[('', 'None'), ('spawn_error', 'spawn error'), ('timeout', 'Timeout'), ('out_of_memory', 'out of memory'), ('hub_unreachable', 'hub unreachable'), ('server_died', 'server stopped unexpectedly')], default='', max_length=32)),
                ('status_message', models.CharField(blank=True, max_length=500)),
                ('progress', models.PositiveSmallIntegerField(default=0)),
                ('generation', models.PositiveIntegerField(default=0)),
                ('served_generation', models.PositiveIntegerField(default=0, help_text="The generation the hub's server was started for.")),
                ('start_requested', models.DateTimeField(blank=True, null=True)),
                ('delete_home', models.BooleanField(default=False, help_text='Deleted together with its home (asked for at deletion).')),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('started', models.DateTimeField(blank=True, null=True)),
                ('stopped', models.DateTimeField(blank=True, null=True)),
                ('observed_at', models.DateTimeField(blank=True, null=True)),
                ('last_seen_alive', models.DateTimeField(blank=True, help_text='The janitor last saw the hub list it running.', null=True)),
                ('server_ended_at', models.DateTimeField(blank=True, help_text='The spawner last saw it alive before it ended.', null=True)),
                ('vanished_at', models.DateTimeField(blank=True, help_text='When the portal found it gone with no word why.', null=True)),
                ('stop_reason', models.CharField(blank=True, max_length=200)),
                ('cull_generation', models.PositiveIntegerField(default=0)),
                ('cull_warned_at', models.DateTimeField(blank=True, null=True)),
                ('cull_deadline', models.DateTimeField(blank=True, help_text='When the warned-about stop happens.', null=True)),
                ('cull_reason', models.CharField(blank=True, max_length=200)),
                ('cull_mailed_at', models.DateTimeField(blank=True, null=True)),
                ('cull_extended_until', models.DateTimeField(blank=True, help_text="Set by the one 'keep running' of a run.", null=True)),
                ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='workspaces', to=settings.AUTH_USER_MODEL)),
                ('profile', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='workspaces', to='workspaces.profile')),
                ('team', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='workspaces', to='accounts.team')),
            ],
            options={
                'ordering': ['-created'],
            },
        ),
        migrations.CreateModel(
            name='WorkspaceEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('kind', models.CharField(choices=[('created', 'Created'), ('start_requested', 'Start Requested'), ('stop_requested', 'Stop Requested'), ('restart_requested', 'Restart Requested'), ('delete_requested', 'Delete Requested'), ('culled', 'Culled'), ('spawn_requested', 'Spawn Requested'), ('spawn_retried', 'Spawn Retried'), ('starting', 'Starting'), ('running', 'Running'), ('stopping', 'Stopping'), ('stopped', 'Stopped'), ('failed', 'Failed'), ('spawn_refused', 'Spawn Refused'), ('server_exited', 'Server Exited'), ('out_of_memory', 'Out Of Memory'), ('home_deleted', 'Home Deleted'), ('cull_warning', 'Cull Warning'), ('kept_running', 'Kept Running'), ('budget_warning', 'Budget Warning'), ('budget_warning_cleared', 'Budget Warning Cleared')], max_length=40)),
                ('actor_username', models.CharField(blank=True, max_length=150)),
                ('message', models.CharField(blank=True, max_length=500)),
                ('data', models.JSONField(blank=True, default=dict)),
                ('workspace', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='workspaces.workspace')),
            ],
            options={
                'ordering': ['created', 'id'],
            },
        ),
        migrations.AddConstraint(
            model_name='workspace',
            constraint=models.UniqueConstraint(condition=models.Q(('desired_state', 'deleted'), _negated=True), fields=('owner', 'name'), name='workspace_unique_live_name_per_owner'),
        ),
    ]
