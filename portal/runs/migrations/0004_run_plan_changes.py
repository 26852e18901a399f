from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0003_run_kept_state"),
    ]

    operations = [
        migrations.AddField(
            model_name="run",
            name="plan_changes",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
