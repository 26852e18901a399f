"""The state store's bootstrap is the operator's business: the run that needed it logs two lines, Terraform's
output goes to the operator's log (a user's first run once showed "Apply complete! Resources: 7 added")."""

from __future__ import annotations

import logging
import uuid

import pytest

from provisioning import engine
from tests.support.emulator import REGION

pytestmark = pytest.mark.slow


def test_the_runs_log_says_the_store_is_made_and_terraforms_output_goes_to_the_operators_log(
    emulator, toolchain, tmp_path, caplog
):
    prefix = f"boot{uuid.uuid4().hex[:6]}"
    lines: list[tuple[str, str]] = []

    with caplog.at_level(logging.INFO, logger="provisioning.engine"):
        store = engine.ensure_state_store(
            REGION, emulator.endpoint, toolchain, tmp_path, lambda *line: lines.append(line), name_prefix=prefix
        )

    assert lines == [
        ("launchpad", f"Creating the Terraform state store of {REGION} ({store.bucket}, {store.lock_table})."),
        ("launchpad", "State store ready."),
    ]
    operator_log = "\n".join(record.getMessage() for record in caplog.records)
    assert "Apply complete! Resources:" in operator_log
    assert f"state store bootstrap of {REGION}" in operator_log
