"""ECS fidelity patches: services keep the settings CreateService was given."""

from __future__ import annotations

from typing import Any

from moto.ecs.responses import EC2ContainerServiceResponse

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
