"""Which environments the demo traffic writes to, so that their dashboards say the data is made up."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class DemoTraffic(models.Model):
    """An environment that ``manage.py demo_traffic`` has put made-up metrics, alarm states and ECS events into."""

    environment = models.OneToOneField(
        "environments.Environment", on_delete=models.CASCADE, related_name="demo_traffic"
    )
    started_at = models.DateTimeField(default=timezone.now)
    last_sent_at = models.DateTimeField(default=timezone.now)
    endpoint = models.CharField(max_length=200, help_text="The emulator the demo data went to.")
    phase = models.CharField(
        max_length=10, default="calm", help_text="calm or incident: where the demo's half-hour story stands."
    )

    class Meta:
        verbose_name_plural = "demo traffic"

    def __str__(self) -> str:
        return f"demo traffic of {self.environment}"
