"""A drift check's output becomes ordered events (as a run's log), and it gets a worker heartbeat like a run."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def log_to_events(apps, schema_editor):
    """Each line of a check's stored output becomes one event, in order."""
    DriftCheck = apps.get_model("environments", "DriftCheck")
    DriftCheckEvent = apps.get_model("environments", "DriftCheckEvent")
    for check in DriftCheck.objects.exclude(log="").only("pk", "log", "finished_at", "created_at").iterator():
        moment = check.finished_at or check.created_at
        DriftCheckEvent.objects.bulk_create(
            DriftCheckEvent(drift_check_id=check.pk, seq=seq, stream="launchpad", message=line, created_at=moment)
            for seq, line in enumerate(check.log.split("\n"), start=1)
        )


def events_to_log(apps, schema_editor):
    DriftCheck = apps.get_model("environments", "DriftCheck")
    for check in DriftCheck.objects.filter(events__isnull=False).distinct():
        check.log = "\n".join(check.events.order_by("seq").values_list("message", flat=True))
        check.save(update_fields=["log"])


class Migration(migrations.Migration):
    dependencies = [
        ("environments", "0002_expiry_and_drift_checks"),
    ]

    operations = [
        migrations.AddField(
            model_name="driftcheck",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="DriftCheckEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.PositiveIntegerField()),
                (
                    "stream",
                    models.CharField(
                        choices=[
                            ("stdout", "Terraform output"),
                            ("stderr", "Terraform errors"),
                            ("launchpad", "Launchpad"),
                        ],
                        max_length=10,
                    ),
                ),
                ("message", models.TextField()),
                ("data", models.JSONField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "drift_check",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="environments.driftcheck",
                    ),
                ),
            ],
            options={
                "ordering": ["drift_check", "seq"],
                "constraints": [
                    models.UniqueConstraint(fields=("drift_check", "seq"), name="drift_check_event_seq_unique")
                ],
            },
        ),
        migrations.RunPython(log_to_events, events_to_log),
        migrations.RemoveField(
            model_name="driftcheck",
            name="log",
        ),
    ]
