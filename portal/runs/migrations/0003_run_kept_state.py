from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0002_run_plan_findings"),
    ]

    operations = [
        migrations.AddField(
            model_name="run",
            name="encrypted_kept_state",
            field=models.BinaryField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="run",
            name="unreleased_lock_id",
            field=models.CharField(blank=True, max_length=100),
        ),
    ]
