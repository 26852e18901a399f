"""Rendering a blueprint's workspace: root module, variables and backend settings in a fresh directory."""

from __future__ import annotations

import json

import pytest

from provisioning.workspace import BackendConfig, WorkspaceError, blueprint_dir, render_workspace


def test_workspace_copies_the_root_module_and_links_the_module_library(tmp_path):
    workspace = render_workspace("sandbox", tmp_path / "ws", {"environment": "demo"})
    assert (workspace.root / "main.tf").read_text() == (blueprint_dir("sandbox") / "main.tf").read_text()
    assert (workspace.root / "../../modules/network/main.tf").resolve().is_file()
    assert json.loads(workspace.var_file.read_text()) == {"environment": "demo"}


def test_backend_settings_add_emulator_switches_only_with_an_endpoint(tmp_path):
    real = BackendConfig(bucket="b", key="envs/demo.tfstate", region="eu-west-1", dynamodb_table="t")
    assert "endpoint" not in real.settings()
    assert "skip_credentials_validation" not in real.settings()
    emulated = BackendConfig(
        bucket="b", key="k", region="eu-west-1", dynamodb_table="t", endpoint="http://127.0.0.1:4566"
    )
    workspace = render_workspace("sandbox", tmp_path / "ws", {}, emulated)
    text = workspace.backend_file.read_text()
    assert 'dynamodb_endpoint = "http://127.0.0.1:4566"' in text
    assert 'force_path_style = "true"' in text


@pytest.mark.parametrize("name", ["../etc", "Full", "", "no-such-blueprint"])
def test_unknown_or_malformed_blueprint_names_are_refused(name, tmp_path):
    with pytest.raises(WorkspaceError):
        render_workspace(name, tmp_path / "ws", {})


def test_workspace_directory_must_be_empty(tmp_path):
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "left-over").write_text("x")
    with pytest.raises(WorkspaceError, match="not empty"):
        render_workspace("sandbox", tmp_path / "ws", {})
