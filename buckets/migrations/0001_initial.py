
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0001_squashed'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Bucket',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=63, unique=True)),
                ('kind', models.CharField(choices=[('personal', 'Personal'), ('team', 'Team')], max_length=10)),
                ('primary', models.BooleanField(default=False)),
                ('state', models.CharField(choices=[('provisioning', 'Provisioning'), ('ready', 'Ready'), ('failed', 'Failed'), ('orphaned', 'Orphaned')], default='provisioning', max_length=16)),
                ('state_reason', models.CharField(blank=True, max_length=300)),
                ('quota_bytes', models.PositiveBigIntegerField(blank=True, null=True)),
                ('over_quota', models.BooleanField(default=False)),
                ('size_bytes', models.PositiveBigIntegerField(blank=True, null=True)),
                ('object_count', models.PositiveBigIntegerField(blank=True, null=True)),
                ('sampled_at', models.DateTimeField(blank=True, null=True)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('updated', models.DateTimeField(auto_now=True)),
                ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='buckets', to=settings.AUTH_USER_MODEL)),
                ('team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='buckets', to='accounts.team')),
            ],
            options={
                'ordering': ['kind', 'name'],
            },
        ),
        migrations.CreateModel(
            name='BucketSample',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('bucket_name', models.CharField(max_length=63)),
                ('sampled_at', models.DateTimeField()),
                ('size_bytes', models.PositiveBigIntegerField()),
                ('object_count', models.PositiveBigIntegerField()),
                ('user_id', models.BigIntegerField(null=True)),
                ('username', models.CharField(blank=True, max_length=150)),
                ('team_id', models.BigIntegerField(null=True)),
                ('team_slug', models.CharField(blank=True, max_length=100)),
                ('bucket', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='samples', to='buckets.bucket')),
            ],
            options={
                'ordering': ['sampled_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='StorageIdentity',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('iam_name', models.CharField(max_length=64, unique=True)),
                ('state', models.CharField(choices=[('provisioning', 'Provisioning'), ('ready', 'Ready'), ('failed', 'Failed'), ('orphaned', 'Orphaned')], default='provisioning', max_length=16)),
                ('state_reason', models.CharField(blank=True, max_length=300)),
                ('policy_digest', models.CharField(blank=True, max_length=64)),
                ('policy_buckets', models.JSONField(blank=True, default=list)),
                ('synced_at', models.DateTimeField(blank=True, null=True)),
                ('rotate_requested', models.DateTimeField(blank=True, null=True)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('user', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='storage_identity', to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.CreateModel(
            name='StorageKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('access_key_id', models.CharField(max_length=128, unique=True)),
                ('secret_encrypted', models.TextField()),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('retire_after', models.DateTimeField(blank=True, null=True)),
                ('deleted', models.DateTimeField(blank=True, help_text='When it was deleted from the object store.', null=True)),
                ('revealed', models.DateTimeField(blank=True, help_text='When its owner was shown the secret.', null=True)),
                ('identity', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='keys', to='buckets.storageidentity')),
            ],
            options={
                'ordering': ['-created', '-id'],
            },
        ),
        migrations.AddConstraint(
            model_name='bucket',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'personal')), fields=('owner',), name='bucket_one_personal_per_owner'),
        ),
        migrations.AddConstraint(
            model_name='bucket',
            constraint=models.UniqueConstraint(condition=models.Q(('primary', True)), fields=('team',), name='bucket_one_primary_per_team'),
        ),
        migrations.AddIndex(
            model_name='bucketsample',
            index=models.Index(fields=['bucket', 'sampled_at'], name='buckets_sample_bucket_time'),
        ),
    ]
