# The activity log's model is named for what it is: the security audit (portal.audit) is another thing.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("activity", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameModel(old_name="AuditEvent", new_name="ActivityEntry"),
        migrations.AlterModelOptions(
            name="activityentry",
            options={"ordering": ["-created_at", "-id"], "verbose_name_plural": "activity entries"},
        ),
        migrations.AlterField(
            model_name="activityentry",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="activity_entries",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
