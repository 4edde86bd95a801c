from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_costs_team_timezone")]

    operations = [
        migrations.AddField(
            model_name="accesstoken",
            name="scope",
            # Tokens made before scopes existed could do everything their owner can: they stay `write`.
            field=models.CharField(choices=[("read", "Read only"), ("write", "Read and write")], default="write", max_length=16),
        ),
    ]
