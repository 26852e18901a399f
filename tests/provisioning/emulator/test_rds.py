"""The emulator's RDS behaves as AWS documents where the database module relies on it (one test per patch)."""

from __future__ import annotations

import uuid

from provisioning.aws import client


def test_db_parameters_set_by_the_user_have_source_user(emulator):
    rds = client("rds")
    name = f"test-mysql8-{uuid.uuid4().hex[:8]}"
    rds.create_db_parameter_group(DBParameterGroupName=name, DBParameterGroupFamily="mysql8.0", Description="test")
    rds.modify_db_parameter_group(
        DBParameterGroupName=name,
        Parameters=[
            {"ParameterName": "require_secure_transport", "ParameterValue": "ON", "ApplyMethod": "immediate"},
            {"ParameterName": "character_set_server", "ParameterValue": "utf8mb4", "ApplyMethod": "immediate"},
        ],
    )

    user = rds.describe_db_parameters(DBParameterGroupName=name, Source="user")["Parameters"]
    engine_default = rds.describe_db_parameters(DBParameterGroupName=name, Source="engine-default")["Parameters"]

    assert sorted((p["ParameterName"], p["ParameterValue"], p["Source"]) for p in user) == [
        ("character_set_server", "utf8mb4", "user"),
        ("require_secure_transport", "ON", "user"),
    ]
    assert not {p["ParameterName"] for p in engine_default} & {"require_secure_transport", "character_set_server"}
