"""The emulator's ECS behaves as AWS documents where the ecs module depends on it."""

from __future__ import annotations

from provisioning.aws import client


def test_service_keeps_managed_tags_and_deployment_configuration(emulator):
    ecs = client("ecs")
    ecs.create_cluster(clusterName="keeps-settings")
    ecs.register_task_definition(
        family="keeps-settings", containerDefinitions=[{"name": "app", "image": "app:1", "memory": 128}]
    )
    configuration = {
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    }

    ecs.create_service(
        cluster="keeps-settings",
        serviceName="keeps-settings",
        taskDefinition="keeps-settings",
        desiredCount=1,
        enableECSManagedTags=True,
        deploymentConfiguration=configuration,
    )

    service = ecs.describe_services(cluster="keeps-settings", services=["keeps-settings"])["services"][0]
    assert service["enableECSManagedTags"] is True
    assert service["deploymentConfiguration"] == configuration
