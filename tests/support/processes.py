"""The one process the API and the forms start themselves: Terraform checking a blueprint's variable rules."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from provisioning.toolchain import find_terraform
from provisioning.variable_rules import VALUES_FILE

# Every argument of the rules check's commands: fixed flags, and the private file of the values.
RULES_CHECK_FLAGS = {"-json", "-input=false", "-lock=false", "-refresh=false", "-backend=false", "-no-color"}


def is_rules_check(argv, cwd) -> bool:
    """Whether ``argv`` in ``cwd`` is provisioning.variable_rules's `terraform init`/`plan` of a rules
    configuration, whose command line holds no value."""
    return (
        argv[0] == str(find_terraform())
        and argv[1] in ("init", "plan")
        and Path(cwd or "").parent.name == "variable-rules"
        and all(arg in RULES_CHECK_FLAGS or arg.endswith(f"/{VALUES_FILE}") for arg in argv[2:])
    )


def allow_only_the_rules_check(monkeypatch, refuse: Callable | None = None) -> None:
    """Any process but the rules check is refused: ``refuse(argv)`` is called (default: the test fails)."""
    start = subprocess.Popen

    def only_the_rules_check(argv, *args, **kwargs):
        if not is_rules_check(argv, kwargs.get("cwd")):
            if refuse is not None:
                return refuse(argv)
            pytest.fail(f"a process was started: {argv!r}")
        return start(argv, *args, **kwargs)

    monkeypatch.setattr("subprocess.Popen", only_the_rules_check)
