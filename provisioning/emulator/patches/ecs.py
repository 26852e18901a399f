"""ECS fidelity patches: services keep their settings, reach a steady state and record events as on AWS."""

from __future__ import annotations

import datetime
import functools
from typing import Any

from moto.ecs import models
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.moto_api._internal import mock_random

from provisioning.emulator.patches import fidelity_patch

# What ECS applies to a REPLICA service created without a deploymentConfiguration.
_DEFAULT_DEPLOYMENT_CONFIGURATION = {"maximumPercent": 200, "minimumHealthyPercent": 100}


@fidelity_patch
def service_keeps_managed_tags_and_deployment_configuration() -> None:
    """DescribeServices returns the enableECSManagedTags and deploymentConfiguration given to CreateService.

    moto 5.2.5 drops both on create (UpdateService keeps them), so hashicorp/aws 3.39 reads
    enable_ecs_managed_tags back as false and plans an in-place change on every run.
    """
    original_create_service = EC2ContainerServiceResponse.create_service

    def create_service(self: EC2ContainerServiceResponse) -> Any:
        result = original_create_service(self)
        services, _ = self.ecs_backend.describe_services(
            self._get_param("cluster", "default"), [self._get_param("serviceName")]
        )
        for service in services:
            service.enable_ecs_managed_tags = bool(self._get_param("enableECSManagedTags", False))
            service.deployment_configuration = {
                **_DEFAULT_DEPLOYMENT_CONFIGURATION,
                **(self._get_param("deploymentConfiguration") or {}),
            }
        return result

    EC2ContainerServiceResponse.create_service = create_service


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _completed(deployment: dict[str, Any], desired_count: int, task_definition: str | None) -> None:
    deployment.update(
        desiredCount=desired_count,
        runningCount=desired_count,
        pendingCount=0,
        rolloutState="COMPLETED",
        rolloutStateReason=f"ECS deployment {deployment['id']} completed.",
        taskDefinition=task_definition,
        updatedAt=_now(),
    )


@fidelity_patch
def service_deployment_reaches_steady_state() -> None:
    """A service's tasks start and its deployment reaches rolloutState COMPLETED with runningCount = desiredCount.

    On AWS a Fargate service's PRIMARY deployment goes from IN_PROGRESS to COMPLETED once its tasks run,
    and the service reports runningCount = desiredCount, pendingCount 0. UpdateService with a new task
    definition or forceNewDeployment starts a new PRIMARY deployment (a new ecs-svc/ id) that replaces
    the old one. moto 5.2.5 never starts a task: every service stays IN_PROGRESS with runningCount 0 (its
    UpdateService sets the counts but leaves the deployment as it was), so a dashboard shows every
    service of the emulator as down.
    """
    backend_class = models.EC2ContainerServiceBackend
    original_create_service = backend_class.create_service
    original_update_service = backend_class.update_service

    @functools.wraps(original_create_service)
    def create_service(self: models.EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> models.Service:
        service = original_create_service(self, *args, **kwargs)
        cluster = self._get_cluster(service.cluster_name)
        # The tasks moto left pending are running now.
        self.update_cluster_resources(cluster, -service.pending_count, task_state="PENDING")
        self.update_cluster_resources(cluster, service.desired_count - service.running_count, task_state="RUNNING")
        service.running_count, service.pending_count = service.desired_count, 0
        for deployment in service.deployments:
            _completed(deployment, service.desired_count, service.task_definition)
        return service

    @functools.wraps(original_update_service)
    def update_service(self: models.EC2ContainerServiceBackend, service_properties: dict[str, Any]) -> models.Service:
        wanted = dict(service_properties)
        before = self._get_service(wanted.get("cluster", "default"), wanted["service"].split("/")[-1])
        previous_task_definition = before.task_definition
        service = original_update_service(self, service_properties)
        cluster = self._get_cluster(service.cluster_name)
        if wanted.get("desired_count") is None:
            # moto took the service's tasks off the cluster's counts and only adds them back for a new count.
            self.update_cluster_resources(cluster, service.running_count, task_state="RUNNING")
        self.update_cluster_resources(cluster, service.desired_count - service.running_count, task_state="RUNNING")
        service.running_count, service.pending_count = service.desired_count, 0
        new_deployment = bool(wanted.get("force_new_deployment")) or service.task_definition != previous_task_definition
        if service.deployments:
            deployment = service.deployments[0]
            if new_deployment:
                deployment.update(id=f"ecs-svc/{mock_random.randint(0, 32**12)}", createdAt=_now())
            _completed(deployment, service.desired_count, service.task_definition)
            del service.deployments[1:]
        return service

    backend_class.create_service = create_service
    backend_class.update_service = update_service


# ECS keeps the 100 most recent events of a service.
_EVENTS_KEPT = 100


def _task_ids(count: int) -> str:
    return " ".join(f"(task {mock_random.get_random_hex(32)})" for _ in range(count))


def _record(service: models.Service, messages: list[str]) -> None:
    """Add ``messages`` (oldest first) to the service's events, which DescribeServices lists newest first."""
    for message in messages:
        service.events.insert(0, {"id": str(mock_random.uuid4()), "createdAt": _now(), "message": message})
    del service.events[_EVENTS_KEPT:]


def _events_for_change(service: models.Service, running_before: int, deployment_before: str | None) -> list[str]:
    name = f"(service {service.name})"
    deployment = service.deployments[0] if service.deployments else None
    messages = []
    if deployment is not None and deployment["id"] != deployment_before:
        started, stopped = service.running_count, running_before
    else:
        started, stopped = (
            max(service.running_count - running_before, 0),
            max(running_before - service.running_count, 0),
        )
    if started:
        messages.append(f"{name} has started {started} tasks: {_task_ids(started)}.")
    if stopped:
        messages.append(f"{name} has stopped {stopped} running tasks: {_task_ids(stopped)}.")
    completed = deployment is not None and deployment.get("rolloutState") == "COMPLETED"
    if completed and deployment["id"] != deployment_before:
        messages.append(f"{name} (deployment {deployment['id']}) deployment completed.")
    if (
        (started or stopped or deployment_before is None)
        and completed
        and service.running_count == service.desired_count
    ):
        messages.append(f"{name} has reached a steady state.")
    return messages


@fidelity_patch
def service_events_record_deployments() -> None:
    """DescribeServices returns the service's events, newest first, as ECS records them.

    ECS writes an event when it starts or stops a service's tasks ("(service web) has started 2 tasks:
    (task …) (task …)."), when a deployment completes ("(service web) (deployment ecs-svc/…) deployment
    completed.") and when the service reaches a steady state ("(service web) has reached a steady
    state."), and keeps the 100 most recent. moto 5.2.5 always returns ``events: []``. The events follow the
    service's own counts and deployments, so they say what the emulator's service really did.
    """
    response_class = EC2ContainerServiceResponse
    original_create_service = response_class.create_service
    original_update_service = response_class.update_service

    def _service(self: EC2ContainerServiceResponse, name: str) -> models.Service | None:
        services, _ = self.ecs_backend.describe_services(self._get_param("cluster", "default"), [name])
        return services[0] if services else None

    @functools.wraps(original_create_service)
    def create_service(self: EC2ContainerServiceResponse) -> Any:
        result = original_create_service(self)
        service = _service(self, self._get_param("serviceName"))
        if service is not None:
            _record(service, _events_for_change(service, running_before=0, deployment_before=None))
        return result

    @functools.wraps(original_update_service)
    def update_service(self: EC2ContainerServiceResponse) -> Any:
        before = _service(self, self._get_param("service").split("/")[-1])
        running_before = before.running_count if before else 0
        deployment_before = before.deployments[0]["id"] if before and before.deployments else None
        result = original_update_service(self)
        service = _service(self, self._get_param("service").split("/")[-1])
        if service is not None:
            _record(service, _events_for_change(service, running_before, deployment_before or ""))
        return result

    response_class.create_service = create_service
    response_class.update_service = update_service
