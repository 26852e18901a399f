"""RDS fidelity patches.

hashicorp/aws 3.x reads a DB parameter group's parameters with ``DescribeDBParameters(Source="user")`` and
keeps only those whose Source is "user"; moto 5.2.5 returns no Source and ignores the filter, so every
plan wants to add the parameters again.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from moto.core.responses import ActionResult
from moto.rds import models
from moto.rds.exceptions import DBParameterGroupNotFoundError
from moto.rds.responses import RDSResponse

from provisioning.emulator.patches import fidelity_patch


@fidelity_patch
def db_parameters_report_source() -> None:
    """DescribeDBParameters reports Source "user" for parameters set with ModifyDBParameterGroup and honours the Source filter, as on AWS."""
    original_update = models.DBParameterGroup.update_parameters

    @functools.wraps(original_update)
    def update_parameters(self: models.DBParameterGroup, new_parameters: Iterable[dict[str, Any]]) -> None:
        new_parameters = list(new_parameters)
        original_update(self, new_parameters)
        for parameter in new_parameters:
            self.parameters[parameter["ParameterName"]]["Source"] = "user"

    def describe_db_parameters(self: RDSResponse) -> ActionResult:
        name = self.params.get("DBParameterGroupName")
        groups = self.backend.describe_db_parameter_groups({"db_parameter_group_name": name})
        if not groups:
            raise DBParameterGroupNotFoundError(name)
        source = self.params.get("Source")
        # moto keeps only the parameters a user set; engine defaults ("engine-default", "system") are not modelled.
        parameters = [
            parameter
            for parameter in groups[0].parameters.values()
            if source is None or parameter.get("Source", "user") == source
        ]
        return ActionResult({"Parameters": parameters})

    models.DBParameterGroup.update_parameters = update_parameters
    RDSResponse.describe_db_parameters = describe_db_parameters
