"""The emulator's ECS behaves as AWS documents where the ecs module and the dashboards depend on it."""

from __future__ import annotations

import re

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


def _service_with_tasks(ecs, name: str, desired: int) -> dict:
    ecs.create_cluster(clusterName=name)
    ecs.register_task_definition(family=name, containerDefinitions=[{"name": "app", "image": "app:1", "memory": 128}])
    ecs.create_service(cluster=name, serviceName=name, taskDefinition=name, desiredCount=desired, launchType="FARGATE")
    return ecs.describe_services(cluster=name, services=[name])["services"][0]


def test_a_new_service_reaches_a_completed_deployment_with_every_task_running(emulator):
    ecs = client("ecs")

    service = _service_with_tasks(ecs, "reaches-steady-state", desired=3)

    assert (service["desiredCount"], service["runningCount"], service["pendingCount"]) == (3, 3, 0)
    (deployment,) = service["deployments"]
    assert deployment["status"] == "PRIMARY"
    assert deployment["rolloutState"] == "COMPLETED"
    assert (deployment["runningCount"], deployment["pendingCount"]) == (3, 0)
    assert deployment["rolloutStateReason"] == f"ECS deployment {deployment['id']} completed."
    cluster = ecs.describe_clusters(clusters=["reaches-steady-state"])["clusters"][0]
    assert (cluster["runningTasksCount"], cluster["pendingTasksCount"]) == (3, 0)


def test_a_forced_deployment_replaces_the_old_one_and_completes(emulator):
    ecs = client("ecs")
    before = _service_with_tasks(ecs, "forced-deployment", desired=2)

    ecs.update_service(cluster="forced-deployment", service="forced-deployment", forceNewDeployment=True)

    after = ecs.describe_services(cluster="forced-deployment", services=["forced-deployment"])["services"][0]
    (deployment,) = after["deployments"]
    assert deployment["id"] != before["deployments"][0]["id"]
    assert (deployment["rolloutState"], deployment["runningCount"], after["runningCount"]) == ("COMPLETED", 2, 2)


def test_scaling_a_service_runs_the_new_count_in_its_deployment(emulator):
    ecs = client("ecs")
    _service_with_tasks(ecs, "scaled-service", desired=1)

    ecs.update_service(cluster="scaled-service", service="scaled-service", desiredCount=4)

    service = ecs.describe_services(cluster="scaled-service", services=["scaled-service"])["services"][0]
    assert (service["runningCount"], service["deployments"][0]["desiredCount"]) == (4, 4)
    assert service["deployments"][0]["runningCount"] == 4
    cluster = ecs.describe_clusters(clusters=["scaled-service"])["clusters"][0]
    assert cluster["runningTasksCount"] == 4


def test_a_new_service_records_its_tasks_starting_and_its_steady_state_newest_first(emulator):
    ecs = client("ecs")

    service = _service_with_tasks(ecs, "records-events", desired=2)

    messages = [event["message"] for event in service["events"]]
    deployment = service["deployments"][0]["id"]
    assert messages[0] == "(service records-events) has reached a steady state."
    assert messages[1] == f"(service records-events) (deployment {deployment}) deployment completed."
    assert re.fullmatch(
        r"\(service records-events\) has started 2 tasks: \(task [0-9a-f]{32}\) \(task [0-9a-f]{32}\)\.", messages[2]
    )
    assert all(event["id"] and event["createdAt"] for event in service["events"])


def test_scaling_and_deploying_record_what_ecs_did(emulator):
    ecs = client("ecs")
    _service_with_tasks(ecs, "records-changes", desired=3)

    ecs.update_service(cluster="records-changes", service="records-changes", desiredCount=1)
    scaled = ecs.describe_services(cluster="records-changes", services=["records-changes"])["services"][0]
    ecs.update_service(cluster="records-changes", service="records-changes", forceNewDeployment=True)
    deployed = ecs.describe_services(cluster="records-changes", services=["records-changes"])["services"][0]

    assert [event["message"].split(":")[0] for event in scaled["events"][:2]] == [
        "(service records-changes) has reached a steady state.",
        "(service records-changes) has stopped 2 running tasks",
    ]
    new = deployed["deployments"][0]["id"]
    assert [event["message"].split(":")[0] for event in deployed["events"][:4]] == [
        "(service records-changes) has reached a steady state.",
        f"(service records-changes) (deployment {new}) deployment completed.",
        "(service records-changes) has stopped 1 running tasks",
        "(service records-changes) has started 1 tasks",
    ]


def test_an_update_that_changes_no_task_records_no_event(emulator):
    ecs = client("ecs")
    before = _service_with_tasks(ecs, "records-nothing", desired=1)

    ecs.update_service(cluster="records-nothing", service="records-nothing", desiredCount=1)

    after = ecs.describe_services(cluster="records-nothing", services=["records-nothing"])["services"][0]
    assert after["events"] == before["events"]
