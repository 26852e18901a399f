"""A destroyed environment's name may be used again: unique among the environments not destroyed; each environment
keeps its Terraform state under its own key; the network pools' per-region lock rows."""

from django.db import migrations, models


def keep_existing_state_keys(apps, schema_editor):
    """The environments made so far keep the key their state is stored under."""
    Environment = apps.get_model("environments", "Environment")
    for environment in Environment.objects.only("pk", "name"):
        environment.state_key = f"environments/{environment.name}/terraform.tfstate"
        environment.save(update_fields=["state_key"])


class Migration(migrations.Migration):
    dependencies = [("environments", "0003_drift_check_events")]

    operations = [
        migrations.CreateModel(
            name="NetworkPool",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("region", models.CharField(max_length=20, unique=True)),
            ],
        ),
        migrations.AddField(
            model_name="environment",
            name="state_key",
            field=models.CharField(editable=False, max_length=100, null=True),
        ),
        migrations.RunPython(keep_existing_state_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="environment",
            name="state_key",
            field=models.CharField(editable=False, max_length=100, unique=True),
        ),
        migrations.AlterField(model_name="environment", name="name", field=models.CharField(max_length=20)),
        migrations.AlterModelOptions(name="environment", options={"ordering": ["name", "-created_at"]}),
        migrations.AddConstraint(
            model_name="environment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "destroyed"), _negated=True),
                fields=("name",),
                name="environment_name_unique_unless_destroyed",
            ),
        ),
    ]
