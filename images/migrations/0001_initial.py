"""The schema as one migration (the history before 2026-12-02 squashed: nothing was released).

`replaces` lets a database that ran the old migrations take this one as applied."""


import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True
    replaces = [('images', '0001_catalog')]

    dependencies = [
        ('accounts', '0001_squashed'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Manifest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('digest', models.CharField(max_length=80)),
                ('media_type', models.CharField(blank=True, max_length=120)),
                ('size_bytes', models.BigIntegerField(default=0)),
                ('title', models.CharField(blank=True, max_length=200)),
                ('description', models.TextField(blank=True)),
                ('source', models.CharField(blank=True, max_length=500)),
                ('revision', models.CharField(blank=True, max_length=100)),
                ('image_created', models.CharField(blank=True, help_text='org.opencontainers.image.created', max_length=40)),
                ('labels', models.JSONField(blank=True, default=dict)),
                ('python_version', models.CharField(blank=True, help_text='From the SBOM.', max_length=40)),
                ('first_seen', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['-first_seen'],
            },
        ),
        migrations.CreateModel(
            name='PackageRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(db_index=True, max_length=200)),
                ('version', models.CharField(blank=True, max_length=100)),
                ('type', models.CharField(blank=True, help_text='python, deb, binary… (from the purl or the SBOM)', max_length=40)),
                ('manifest', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='packages', to='images.manifest')),
            ],
            options={
                'ordering': ['name', 'version'],
            },
        ),
        migrations.CreateModel(
            name='Repository',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=255, unique=True)),
                ('namespace', models.CharField(choices=[('platform', 'Platform'), ('team', 'Team'), ('user', 'User'), ('local', 'local environment'), ('other', 'Other')], max_length=16)),
                ('present', models.BooleanField(default=True, help_text="Seen in the registry's catalog at the last sync.")),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='image_repositories', to=settings.AUTH_USER_MODEL)),
                ('team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='image_repositories', to='accounts.team')),
            ],
            options={
                'verbose_name_plural': 'repositories',
                'ordering': ['name'],
            },
        ),
        migrations.AddField(
            model_name='manifest',
            name='repository',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='manifests', to='images.repository'),
        ),
        migrations.CreateModel(
            name='ImageTag',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tag', models.CharField(max_length=128)),
                ('kind', models.CharField(choices=[('image', 'Image'), ('local', 'local environment')], default='image', max_length=8)),
                ('python', models.CharField(blank=True, help_text="Local environments: the interpreter; empty means the platform's own.", max_length=500)),
                ('managed', models.BooleanField(default=True, help_text='False: a platform/ tag that does not follow the CI tag pattern.')),
                ('status', models.CharField(choices=[('new', 'New'), ('approved', 'Approved'), ('deprecated', 'Deprecated'), ('retired', 'Retired')], default='new', max_length=12)),
                ('all_teams', models.BooleanField(default=True)),
                ('recommended', models.BooleanField(default=False)),
                ('deprecation_message', models.CharField(blank=True, max_length=500)),
                ('digest_changed', models.BooleanField(default=False, help_text='The tag was re-pushed with other content.')),
                ('previous_digest', models.CharField(blank=True, max_length=80)),
                ('present', models.BooleanField(default=True, help_text='Seen in the registry at the last sync.')),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('updated', models.DateTimeField(auto_now=True)),
                ('replacement', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='replaces', to='images.imagetag')),
                ('teams', models.ManyToManyField(blank=True, related_name='image_tags', to='accounts.team')),
                ('manifest', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='tags', to='images.manifest')),
                ('repository', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tags', to='images.repository')),
            ],
            options={
                'ordering': ['repository__name', '-created'],
            },
        ),
        migrations.CreateModel(
            name='RobotAccount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=60, unique=True)),
                ('description', models.CharField(blank=True, max_length=200)),
                ('scopes', models.JSONField(default=list, help_text='[{"repository": "platform/python*", "actions": ["pull", "push"]}]')),
                ('secret_digest', models.CharField(max_length=64, unique=True)),
                ('expires', models.DateTimeField()),
                ('revoked', models.DateTimeField(blank=True, null=True)),
                ('last_used', models.DateTimeField(blank=True, null=True)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='Sbom',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('format', models.CharField(max_length=20)),
                ('package_count', models.PositiveIntegerField(default=0)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('uploaded_by', models.CharField(blank=True, max_length=150)),
                ('manifest', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='sboms', to='images.manifest')),
            ],
        ),
        migrations.CreateModel(
            name='ScanException',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('vulnerability_id', models.CharField(max_length=80)),
                ('justification', models.TextField()),
                ('expires', models.DateTimeField()),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('revoked', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('repository', models.ForeignKey(blank=True, help_text='Empty: every repository.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='scan_exceptions', to='images.repository')),
                ('team', models.ForeignKey(blank=True, help_text='Empty: every team.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='scan_exceptions', to='accounts.team')),
            ],
            options={
                'ordering': ['-created'],
            },
        ),
        migrations.CreateModel(
            name='ScanPolicy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('block_threshold', models.CharField(blank=True, choices=[('CRITICAL', 'critical'), ('HIGH', 'high or worse'), ('MEDIUM', 'medium or worse'), ('LOW', 'low or worse'), ('', 'never block on findings')], default='CRITICAL', max_length=10)),
                ('allow_unscanned', models.BooleanField(default=False, help_text='Allow launching non-personal images with no report.')),
                ('updated', models.DateTimeField(auto_now=True)),
                ('team', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='scan_policy', to='accounts.team')),
            ],
        ),
        migrations.CreateModel(
            name='VulnerabilityReport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scanner', models.CharField(default='trivy', max_length=60)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('uploaded_by', models.CharField(blank=True, max_length=150)),
                ('counts', models.JSONField(default=dict, help_text='Findings per normalised severity.')),
                ('notified', models.BooleanField(default=False)),
                ('manifest', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reports', to='images.manifest')),
            ],
            options={
                'ordering': ['-created', '-id'],
            },
        ),
        migrations.CreateModel(
            name='Finding',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('vulnerability_id', models.CharField(db_index=True, max_length=80)),
                ('package', models.CharField(max_length=200)),
                ('installed_version', models.CharField(blank=True, max_length=100)),
                ('fixed_version', models.CharField(blank=True, max_length=200)),
                ('severity', models.CharField(max_length=10)),
                ('title', models.CharField(blank=True, max_length=500)),
                ('report', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='findings', to='images.vulnerabilityreport')),
            ],
            options={
                'ordering': ['vulnerability_id', 'package'],
            },
        ),
        migrations.AddConstraint(
            model_name='manifest',
            constraint=models.UniqueConstraint(fields=('repository', 'digest'), name='manifest_unique_digest_per_repository'),
        ),
        migrations.AddConstraint(
            model_name='imagetag',
            constraint=models.UniqueConstraint(fields=('repository', 'tag'), name='imagetag_unique_tag_per_repository'),
        ),
    ]
