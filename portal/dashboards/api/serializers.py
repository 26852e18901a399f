"""The status API's shapes: an environment's dashboard and the fleet, as read from AWS (see provisioning.status)."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from provisioning.status import Level

LEVELS = [
    (Level.HEALTHY, "Healthy"),
    (Level.DEGRADED, "Degraded"),
    (Level.DOWN, "Down"),
    (Level.NOT_READY, "Not ready: the environment's lifecycle status says why"),
]


class HealthSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=LEVELS)
    reason = serializers.CharField(help_text="The most important reason, in words.")
    reasons = serializers.ListField(child=serializers.CharField(), help_text="Every reason, most severe first.")


class ServiceEventSerializer(serializers.Serializer):
    created_at = serializers.DateTimeField(allow_null=True)
    message = serializers.CharField()


class DeploymentSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField(help_text="PRIMARY (the deployment rolled out) or ACTIVE (an older one draining).")
    rollout_state = serializers.CharField(help_text="COMPLETED, IN_PROGRESS or FAILED.")
    rollout_state_reason = serializers.CharField()
    desired = serializers.IntegerField()
    running = serializers.IntegerField()
    pending = serializers.IntegerField()
    failed_tasks = serializers.IntegerField()
    task_definition = serializers.CharField(help_text="family:revision")
    created_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)


class ServiceSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="web-api or workers")
    name = serializers.CharField(help_text="The ECS service name.")
    found = serializers.BooleanField()
    status = serializers.CharField()
    desired = serializers.IntegerField()
    running = serializers.IntegerField()
    pending = serializers.IntegerField()
    rollout_state = serializers.CharField(help_text="The PRIMARY deployment's rollout state.")
    deployments = DeploymentSerializer(many=True)
    events = ServiceEventSerializer(many=True, help_text="The latest service events, newest first.")


class ServicesWidgetSerializer(serializers.Serializer):
    services = ServiceSerializer(many=True)
    error = serializers.CharField(help_text="Why the services could not be read; empty when they were.")


class AlarmSerializer(serializers.Serializer):
    name = serializers.CharField()
    state = serializers.CharField(help_text="OK, ALARM or INSUFFICIENT_DATA.")
    reason = serializers.CharField()
    updated_at = serializers.DateTimeField(allow_null=True)
    description = serializers.CharField()
    namespace = serializers.CharField()
    metric_name = serializers.CharField()


class AlarmsWidgetSerializer(serializers.Serializer):
    alarms = AlarmSerializer(many=True, help_text="Firing alarms first.")
    error = serializers.CharField()


class QueueDepthSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="work or dead-letter")
    name = serializers.CharField()
    visible = serializers.IntegerField(allow_null=True)
    in_flight = serializers.IntegerField(allow_null=True)
    delayed = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()


class QueuesWidgetSerializer(serializers.Serializer):
    queues = QueueDepthSerializer(many=True)
    error = serializers.CharField()


class SeriesSerializer(serializers.Serializer):
    label = serializers.CharField()
    timestamps = serializers.ListField(child=serializers.DateTimeField())
    values = serializers.ListField(child=serializers.FloatField())


class ChartSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    unit = serializers.CharField()
    series = SeriesSerializer(many=True)
    error = serializers.CharField(help_text="Why this chart could not be read; empty when it was.")


class MetricsSerializer(serializers.Serializer):
    window = serializers.CharField()
    period_seconds = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    read_at = serializers.DateTimeField()
    charts = ChartSerializer(many=True)


class _EnvironmentFields(serializers.Serializer):
    environment = serializers.CharField(source="environment.name")
    status = serializers.CharField(
        source="environment.status", help_text="The lifecycle status (ready, provisioning…)."
    )
    blueprint = serializers.CharField(source="environment.blueprint.name")
    tier = serializers.CharField(source="environment.tier")
    region = serializers.CharField(source="environment.region")
    health = HealthSerializer()
    demo = serializers.BooleanField(help_text="True when the emulator holds made-up demo data for it.")
    cached = serializers.BooleanField(help_text="Served from the cache rather than read from AWS just now.")
    read_at = serializers.DateTimeField(allow_null=True, help_text="When AWS was read; null when nothing was.")


class EnvironmentStatusSerializer(_EnvironmentFields):
    window = serializers.CharField()
    services = ServicesWidgetSerializer(source="summary.services", allow_null=True, default=None)
    alarms = AlarmsWidgetSerializer(source="summary.alarms", allow_null=True, default=None)
    queues = QueuesWidgetSerializer(source="summary.queues", allow_null=True, default=None)
    metrics = MetricsSerializer(allow_null=True)


class FleetEntrySerializer(_EnvironmentFields):
    dashboard_url = serializers.SerializerMethodField()

    def get_dashboard_url(self, entry) -> str:
        return reverse("dashboards:environment", args=[entry.environment.name])


class FleetCountsSerializer(serializers.Serializer):
    down = serializers.IntegerField()
    degraded = serializers.IntegerField()
    healthy = serializers.IntegerField()
    not_ready = serializers.IntegerField()


class FleetSerializer(serializers.Serializer):
    counts = FleetCountsSerializer()
    environments = FleetEntrySerializer(many=True, help_text="Worst first: down, degraded, healthy, not ready.")
